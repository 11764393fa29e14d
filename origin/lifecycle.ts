// What a running origin (or a CLI command) has opened, closed in the reverse order: a part opened
// later may use the parts opened before it (the HTTP server uses the database), never the reverse.

type Stop = () => Promise<void> | void;

export class Lifecycle {
  private readonly parts: { name: string; stop: Stop }[] = [];
  private closing: Promise<void> | undefined;

  /** Registers what stops `value`, and returns it. */
  own<T>(name: string, value: T, stop: (value: T) => Promise<void> | void): T {
    this.parts.push({ name, stop: () => stop(value) });
    return value;
  }

  /** Stops every part, last opened first. A part that fails to stop does not keep the others open. */
  close(onError?: (name: string, error: unknown) => void): Promise<void> {
    this.closing ??= (async () => {
      for (let part = this.parts.pop(); part !== undefined; part = this.parts.pop()) {
        try {
          await part.stop();
        } catch (error) {
          onError?.(part.name, error);
        }
      }
    })();
    return this.closing;
  }
}
