// deb822 control data (dpkg's status database, Debian control files): stanzas of "Field: value"
// lines separated by blank lines, with continuation lines starting with a space or tab. Only
// the fields asked for are kept, so a 64 MiB database costs its text and not a map per line.

export interface Stanza {
  /** The fields asked for, by lower-cased name; continuation lines joined with "\n". */
  fields: Map<string, string>;
  /** A line that is neither a field nor a continuation, or a field given twice. */
  malformed: boolean;
}

/** Yields each stanza of `text`; `wanted` are the lower-cased field names to keep. */
export function* stanzas(text: string, wanted: ReadonlySet<string>): Generator<Stanza> {
  let fields = new Map<string, string>();
  let seen = new Set<string>();
  let malformed = false;
  let empty = true;
  let last: string | undefined;
  let at = 0;
  while (at <= text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    let line = text.slice(at, end);
    at = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);

    if (line.trim() === '') {
      if (!empty) yield { fields, malformed };
      fields = new Map();
      seen = new Set();
      malformed = false;
      empty = true;
      last = undefined;
      continue;
    }
    empty = false;
    if (line[0] === ' ' || line[0] === '\t') {
      if (seen.size === 0) malformed = true;
      else if (last !== undefined) fields.set(last, `${fields.get(last)}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      malformed = true;
      last = undefined;
      continue;
    }
    const name = line.slice(0, colon).toLowerCase();
    if (seen.has(name)) malformed = true;
    seen.add(name);
    last = wanted.has(name) ? name : undefined;
    if (last !== undefined) fields.set(name, line.slice(colon + 1).trim());
  }
  if (!empty) yield { fields, malformed };
}
