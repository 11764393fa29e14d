// Fuzzing the Range header of a blob GET (shared/byte-range.ts) and the answer built from it
// (shared/blob-answer.ts): every header gets the whole blob, a range inside it or 416, and the
// Content-Range of a 206 read back as a Range asks for the same bytes.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { blobAnswer } from '../../shared/blob-answer.ts';
import { parseRange } from '../../shared/byte-range.ts';
import { anyText, fuzz, mutated } from './fuzz-settings.ts';

const size = fc.oneof(
  fc.integer({ min: 0, max: 4096 }),
  fc.constantFrom(0, 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.nat({ max: Number.MAX_SAFE_INTEGER }),
);
const offset = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String),
  fc.stringMatching(/^0*\d{0,4}$/),
);
const wellFormed = fc
  .tuple(fc.option(offset, { nil: '' }), fc.option(offset, { nil: '' }), fc.constantFrom('', ' ', '\t'))
  .map(([first, last, pad]) => `${pad}bytes=${first}-${last}${pad}`);
const rangeHeader = fc.oneof(wellFormed, mutated(wellFormed), anyText, fc.constantFrom(null, undefined));

describe('Range on a blob', () => {
  test('any header: the whole blob, a range within it, or unsatisfiable; never an exception', () => {
    fc.assert(
      fc.property(rangeHeader, size, (header, n) => {
        const range = parseRange(header, n);
        if (range.kind !== 'range') return;
        expect(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end)).toBe(true);
        expect(0 <= range.start && range.start <= range.end && range.end < n).toBe(true);
      }),
      fuzz(),
    );
  });

  test("a 206's Content-Range, sent back as a Range, asks for the same bytes", () => {
    fc.assert(
      fc.property(rangeHeader, size, (header, n) => {
        const answer = blobAnswer(`sha256:${'0'.repeat(64)}`, n, header);
        if (!answer.ok) {
          expect([answer.error.status, answer.error.headers?.['Content-Range']]).toEqual([
            416,
            `bytes */${n}`,
          ]);
          return;
        }
        expect(Number(answer.headers['Content-Length'])).toBe(answer.end - answer.start + 1);
        if (!answer.partial) return;
        const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.headers['Content-Range'] ?? '');
        expect(match).not.toBeNull();
        const [, start, end, total] = match!;
        expect(Number(total)).toBe(n);
        expect(parseRange(`bytes=${start}-${end}`, n)).toEqual({
          kind: 'range',
          start: answer.start,
          end: answer.end,
        });
      }),
      fuzz(),
    );
  });
});
