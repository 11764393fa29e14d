// os-release(5): KEY=value lines in shell-compatible quoting. Values may be bare, "double
// quoted" (backslash escapes \" \\ \$ \` only) or 'single quoted' (no escapes); lines that are
// comments, blank or malformed are skipped, as systemd does.

export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    const value = unquote(line.slice(eq + 1));
    if (value !== undefined) fields[key] = value;
  }
  return fields;
}

/** A shell-quoted value; undefined when a quote is left open. */
function unquote(raw: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '"') {
      i++;
      while (i < raw.length && raw[i] !== '"') {
        if (raw[i] === '\\' && i + 1 < raw.length && '"\\$`'.includes(raw[i + 1]!)) i++;
        out += raw[i];
        i++;
      }
      if (i >= raw.length) return undefined;
      i++;
    } else if (c === "'") {
      const end = raw.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += raw.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\' && i + 1 < raw.length) {
      out += raw[i + 1];
      i += 2;
    } else if (c === '#' && /\s/.test(raw[i - 1] ?? '')) {
      // An unquoted " #" starts a trailing comment.
      break;
    } else {
      out += c;
      i++;
    }
  }
  return out.trim();
}
