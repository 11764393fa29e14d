// Text the metadata database can store. PostgreSQL's text and jsonb hold neither U+0000 nor a lone
// surrogate, though JSON can spell both ("\u0000", "\ud800"): a request whose stored text holds
// one is refused as invalid, rather than failing when it is written (a 500). Web APIs only.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** `text` with each NUL and lone surrogate replaced by U+FFFD: for a record that must not fail. */
export function toStorableText(text: string): string {
  return text.replaceAll('\u0000', '\ufffd').replace(new RegExp(LONE_SURROGATE, 'g'), '\ufffd');
}

/** Whether every string in a parsed JSON value, keys included, is storable. */
export function isStorableJson(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(isStorableJson);
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).every(([key, v]) => isStorableText(key) && isStorableJson(v));
  return true;
}
