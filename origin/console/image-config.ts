// What the console shows of an image config: the command that made each layer (from `history`,
// skipping empty layers), the environment, entrypoint and labels. Outside bytes: every field is
// checked for its type, anything else is left out.
export interface ImageConfigView {
  readonly os: string | null;
  readonly architecture: string | null;
  readonly created: string | null;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly labels: readonly (readonly [string, string])[];
  /** The command behind each layer, in layer order (null when history does not say). */
  readonly layerCommands: readonly (string | null)[];
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const texts = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export function readImageConfig(bytes: Uint8Array, layerCount: number): ImageConfigView | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
  const root = record(parsed);
  const config = record(root.config);
  const history = Array.isArray(root.history) ? root.history.map(record) : [];
  const commands = history.filter((h) => h.empty_layer !== true).map((h) => text(h.created_by));
  return {
    os: text(root.os),
    architecture: text(root.architecture),
    created: text(root.created),
    env: texts(config.Env),
    entrypoint: texts(config.Entrypoint),
    cmd: texts(config.Cmd),
    labels: Object.entries(record(config.Labels))
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    // History that does not line up with the layers says nothing reliable about them.
    layerCommands: commands.length === layerCount ? commands : Array.from({ length: layerCount }, () => null),
  };
}
