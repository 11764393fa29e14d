// A nudge between two parts of one process: whoever queued work (a webhook delivery, a scan job)
// wakes whoever does it, without either holding the other. Nothing is lost when nobody listens:
// the work is in the database, and its worker's next poll finds it.

export class Wakeup {
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
