// Numbers as people read them: sizes in decimal units (1 kB = 1000 B, one decimal place), counts
// with their noun in the singular or the plural.

const UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'] as const;

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  let value = bytes / 1000;
  let unit = 0;
  // 999.96 kB would print as "1000.0 kB": move up a unit before rounding does.
  while (value >= 999.95 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** "1 blob", "3 blobs"; `plural` for nouns that do not take an s. */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
