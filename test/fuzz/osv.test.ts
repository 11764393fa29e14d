// Fuzzing OSV records (origin/vulndb/osv.ts), which come from downloaded exports: any JSON value
// parses to a record or a reason naming the field, never an exception; a record that parses
// survives a JSON round trip unchanged; timestamps, CVE ids and ecosystem names are answered for
// any string.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  compareCveIds,
  ecosystemBase,
  ecosystemCovers,
  identityCves,
  packageKey,
  parseOsv,
  relatedCves,
  toMicros,
} from '../../origin/vulndb/osv.ts';
import { anyText, fuzz, mutated, twisted } from './fuzz-settings.ts';

const timestamp = fc
  .tuple(
    fc.date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    }),
    fc.stringMatching(/^(\.\d{1,9})?$/),
    fc.constantFrom('Z', 'z', '+00:00', '-05:30'),
  )
  .map(([d, fraction, zone]) => `${d.toISOString().slice(0, 19)}${fraction}${zone}`);
const cve = fc
  .tuple(fc.integer({ min: 1999, max: 2030 }), fc.integer({ min: 1, max: 9_999_999 }))
  .map(([y, n]) => `CVE-${y}-${String(n).padStart(4, '0')}`);
const event = fc.oneof(
  fc.record({ introduced: fc.constantFrom('0', '1.0.0') }),
  fc.record({ fixed: fc.string({ maxLength: 8 }) }),
  fc.record({ last_affected: fc.string({ maxLength: 8 }) }),
);
const record = fc.record(
  {
    schema_version: fc.constant('1.6.0'),
    id: fc.oneof(cve, fc.string({ minLength: 1, maxLength: 20 })),
    modified: timestamp,
    published: timestamp,
    aliases: fc.array(fc.oneof(cve, fc.string({ maxLength: 10 })), { maxLength: 3 }),
    upstream: fc.array(cve, { maxLength: 2 }),
    summary: fc.string({ maxLength: 20 }),
    severity: fc.array(
      fc.record({ type: fc.constantFrom('CVSS_V3', 'Ubuntu'), score: fc.string({ maxLength: 10 }) }),
      {
        maxLength: 2,
      },
    ),
    affected: fc.array(
      fc.record(
        {
          package: fc.record({
            ecosystem: fc.constantFrom('Debian:12', 'npm', 'PyPI', 'Go'),
            name: fc.string({ minLength: 1, maxLength: 10 }),
          }),
          ranges: fc.array(
            fc.record({
              type: fc.constantFrom('ECOSYSTEM', 'SEMVER', 'GIT'),
              events: fc.array(event, { maxLength: 3 }),
            }),
            {
              maxLength: 2,
            },
          ),
          versions: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: ['id', 'modified'] },
);

const twistedDocument = twisted(record);

describe('OSV records', () => {
  test('a valid record parses, and parses again the same after a JSON round trip', () => {
    fc.assert(
      fc.property(record, (r) => {
        const parsed = parseOsv(r);
        if (!parsed.ok) throw new Error(parsed.reason);
        const again = parseOsv(JSON.parse(JSON.stringify(parsed.record)));
        expect(again).toEqual(parsed);
        for (const id of [...identityCves(parsed.record), ...relatedCves(parsed.record)])
          expect(id).toMatch(/^CVE-/);
      }),
      fuzz(),
    );
  });

  test('any value: a record or a reason naming the field; never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(twistedDocument, fc.jsonValue(), fc.anything()), (value) => {
        const parsed = parseOsv(value);
        if (parsed.ok) {
          identityCves(parsed.record);
          relatedCves(parsed.record);
        } else expect(parsed.reason).toMatch(/^[\w.]+: /);
      }),
      fuzz(),
    );
  });
});

describe('timestamps, CVE ids and ecosystems', () => {
  test('an RFC 3339 timestamp reads as the microseconds it names', () => {
    fc.assert(
      fc.property(timestamp, (t) => {
        const micros = toMicros(t);
        expect(micros).toBeDefined();
        const ms = Date.parse(t.replace(/z$/, 'Z'));
        expect(Math.abs(micros! - ms * 1000)).toBeLessThanOrEqual(1000);
      }),
      fuzz(),
    );
  });

  test('a timestamp read names the same wall-clock time it was written with; impossible ones are refused', () => {
    // Fields in and out of their ranges: month 13, day 30 of February, hour 24, offset +16:00.
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const fields = fc.tuple(
      fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
      two(13),
      two(32),
      two(25),
      two(61),
      two(61),
      fc.oneof(
        fc.constant('Z'),
        fc.tuple(fc.constantFrom('+', '-'), two(24), two(60)).map(([s, h, m]) => `${s}${h}:${m}`),
      ),
    );
    fc.assert(
      fc.property(fields, ([y, mo, d, h, mi, s, zone]) => {
        const text = `${y}-${mo}-${d}T${h}:${mi}:${s}${zone}`;
        const micros = toMicros(text);
        if (micros === undefined) return;
        const offset =
          zone === 'Z'
            ? 0
            : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
        const wallClock = new Date(micros / 1000 + offset * 60_000).toISOString();
        // Year 0 and offsets past ±15:59 are refused too: PostgreSQL, which stores the text, has neither.
        expect([wallClock.slice(-24, -5), Number(y) > 0, Math.abs(offset) < 16 * 60]).toEqual([
          `${y}-${mo}-${d}T${h}:${mi}:${s}`,
          true,
          true,
        ]);
      }),
      fuzz(),
    );
  });

  test('any string: a timestamp or undefined; CVE order antisymmetric; ecosystems answered', () => {
    const text = fc.oneof(
      mutated(timestamp),
      mutated(cve),
      mutated(fc.constantFrom('Debian:12', 'Ubuntu:22.04:LTS')),
      anyText,
    );
    fc.assert(
      fc.property(text, text, (a, b) => {
        const micros = toMicros(a);
        if (micros !== undefined) expect(Number.isFinite(micros)).toBe(true);
        const ab = compareCveIds(a, b);
        expect(Number.isNaN(ab)).toBe(false);
        expect(Math.sign(ab) || 0).toBe(0 - Math.sign(compareCveIds(b, a)) || 0);
        expect(ecosystemBase(a).includes(':')).toBe(false);
        expect(typeof packageKey(a, b)).toBe('string');
        expect(ecosystemCovers(a, a)).toBe(true);
        ecosystemCovers(a, b);
      }),
      fuzz(),
    );
  });
});
