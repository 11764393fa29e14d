// JSON read so that every parser reads it alike. JSON.parse checks the grammar; then the text is
// refused where parsers part ways: a byte order mark before it (RFC 8259 lets a parser ignore or
// refuse it) and an object that names a key twice (some parsers keep the first value, others, like
// JSON.parse, the last). Web APIs only.

/** `reason` completes a sentence about the text: "(the text) begins with a byte order mark". */
export type StrictJson = { ok: true; value: unknown } | { ok: false; reason: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const BYTE_ORDER_MARK = 0xfeff;

export function parseStrictJson(text: string): StrictJson {
  if (text.charCodeAt(0) === BYTE_ORDER_MARK) return { ok: false, reason: 'begins with a byte order mark' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'is not valid JSON' };
  }
  const key = duplicateKey(text);
  if (key !== null) return { ok: false, reason: `names the key ${JSON.stringify(key)} twice in one object` };
  return { ok: true, value };
}

/**
 * The first key some object of `text` names twice, at any depth, or null. `text` is valid JSON
 * (JSON.parse took it), so one pass over its characters finds every key: a string that opens an
 * object's member. Keys are compared decoded (`"\u0061"` is `"a"`).
 */
function duplicateKey(text: string): string | null {
  // The keys of each open object; null for an open array.
  const open: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== QUOTE; i++) {
        if (text.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      if (!expectingKey) continue;
      expectingKey = false;
      const raw = text.slice(start, i + 1);
      const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      const keys = open.at(-1) as Set<string>;
      if (keys.has(key)) return key;
      keys.add(key);
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      expectingKey = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
      expectingKey = false;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      expectingKey = false;
    } else if (c === COMMA) {
      expectingKey = open.at(-1) != null;
    }
  }
  return null;
}
