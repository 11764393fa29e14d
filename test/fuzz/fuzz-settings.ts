// How hard the fuzz suite tries, and the generators its files share. The seed is fixed, so `npm
// test` runs the same cases every time and a failure reproduces; FUZZ_RUNS= runs more cases for a
// long local hunt, FUZZ_SEED= other ones. A failure prints its seed and the shrunk input: that
// input then becomes a plain regression test beside the module's unit tests.
import fc from 'fast-check';

/** Cases per property by default: the whole fuzz suite stays well under 30 s on two cores. */
const DEFAULT_RUNS = 200;

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

export const FUZZ_RUNS = positiveInteger('FUZZ_RUNS', DEFAULT_RUNS);
export const FUZZ_SEED = positiveInteger('FUZZ_SEED', 20_261_202);

/**
 * fc.assert's parameters: the fixed seed and FUZZ_RUNS cases, times `share` for a property whose
 * case is costly (a registry round trip, a temporary SQLite file).
 */
export function fuzz(share = 1): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(FUZZ_RUNS * share)) };
}

/** A vitest timeout that grows with FUZZ_RUNS, so a long local run is not cut short. */
export function fuzzTimeout(msAtDefault: number): number {
  return Math.max(msAtDefault, Math.ceil((msAtDefault * FUZZ_RUNS) / DEFAULT_RUNS));
}

// Characters that parsers split on, escape or trip over, beside any code unit at all.
const AWKWARD = [
  ':',
  '/',
  '@',
  '.',
  '-',
  '_',
  '+',
  '~',
  '=',
  ',',
  ';',
  ' ',
  '\t',
  '\n',
  '\r',
  '\0',
  '"',
  "'",
  '\\',
  '%',
  '#',
  '?',
  '*',
  '{',
  '}',
  '[',
  ']',
  '\u00e9',
  '\u{1f600}',
  '\ufeff',
  '\ud800',
];

/** One character: an awkward one, or any UTF-16 code unit (lone surrogates too). */
export const awkwardChar: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...AWKWARD),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

/** Strings of awkward characters and anything else. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: awkwardChar, maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

type Edit = { op: 'insert' | 'delete' | 'replace'; at: number; text: string };

const edit: fc.Arbitrary<Edit> = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace'),
  at: fc.nat(),
  text: fc.string({ unit: awkwardChar, minLength: 1, maxLength: 3 }),
});

function applyEdit(s: string, e: Edit): string {
  const at = s.length === 0 ? 0 : e.at % (s.length + 1);
  if (e.op === 'insert') return s.slice(0, at) + e.text + s.slice(at);
  if (e.op === 'delete') return s.slice(0, at) + s.slice(at + e.text.length);
  return s.slice(0, at) + e.text + s.slice(at + e.text.length);
}

/** Valid inputs, some left whole and most with a few characters inserted, deleted or replaced. */
export function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(valid, fc.array(edit, { maxLength: 4 })).map(([s, edits]) => edits.reduce(applyEdit, s));
}

type ByteEdit =
  | { op: 'flip'; at: number; value: number }
  | { op: 'cut'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number };

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
);

function applyByteEdit(b: Uint8Array, e: ByteEdit): Uint8Array {
  const at = b.length === 0 ? 0 : e.at % (b.length + 1);
  switch (e.op) {
    case 'flip': {
      if (b.length === 0) return b;
      const out = new Uint8Array(b);
      out[at % b.length] = e.value;
      return out;
    }
    case 'cut':
      return b.subarray(0, at);
    case 'insert':
      return new Uint8Array(Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]));
    case 'delete':
      return new Uint8Array(Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]));
  }
}

/** Valid bytes with a few bytes overwritten, inserted or deleted, or cut short. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>, maxEdits = 6): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(byteEdit, { minLength: 1, maxLength: maxEdits }))
    .map(([b, edits]) => edits.reduce(applyByteEdit, b));
}

/** Bytes handed out in chunks of random sizes, as a network stream would. */
export async function* inChunks(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes.length === 0 ? bytes.length : sizes[i % sizes.length]!);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

/** Chunk sizes for inChunks: tiny ones (split every header) up to whole blocks. */
export const chunkSizes: fc.Arbitrary<number[]> = fc.array(fc.integer({ min: 1, max: 1500 }), {
  maxLength: 8,
});

/** A valid document from `valid` with one field, at any depth, replaced by any JSON value or removed. */
export function twisted<T extends object>(valid: fc.Arbitrary<T>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(valid, fc.nat(), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }))
    .map(([document, pick, replacement]) => {
      const doc = structuredClone(document) as Record<string, unknown>;
      const slots: [Record<string, unknown>, string][] = [];
      const visit = (node: unknown) => {
        if (typeof node !== 'object' || node === null) return;
        for (const key of Object.keys(node)) {
          slots.push([node as Record<string, unknown>, key]);
          visit((node as Record<string, unknown>)[key]);
        }
      };
      visit(doc);
      const [holder, key] = slots[pick % slots.length] as [Record<string, unknown>, string];
      if (replacement === undefined) delete holder[key];
      else holder[key] = replacement;
      return doc;
    });
}
