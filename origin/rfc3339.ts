// RFC 3339 times read strictly: the pattern, and each field within its range. Date.parse alone
// takes many other forms, rolls a day past the month's end into the next month (2021-02-30 is
// March 2) and takes hour 24; PostgreSQL, which stores these times, refuses those, year 0 and
// offsets past ±15:59 (no zone is past ±14:00). A text it would refuse must be refused here, with
// the caller's own error, not fail a query later.

const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Microseconds since the epoch (PostgreSQL's precision); undefined when `text` is no RFC 3339 time. */
export function rfc3339Micros(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const dateTime = (m[1] as string).replace(/[t ]/, 'T');
  const zone = (m[3] as string).toUpperCase() === 'Z' ? 'Z' : (m[3] as string);
  if (!inRange(dateTime, zone)) return undefined;
  const ms = Date.parse(`${dateTime}${zone}`);
  if (!Number.isFinite(ms)) return undefined;
  return ms * 1000 + Math.round(Number(`0.${m[2] ?? '0'}`) * 1e6);
}

function inRange(dateTime: string, zone: string): boolean {
  const [year, month, day, hour, minute, second] = dateTime.split(/[-T:]/).map(Number) as number[];
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  const offsetOk = zone === 'Z' || (Number(zone.slice(1, 3)) <= 15 && Number(zone.slice(4)) <= 59);
  return (
    year! >= 1 &&
    days !== undefined &&
    day! >= 1 &&
    day! <= days &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetOk
  );
}
