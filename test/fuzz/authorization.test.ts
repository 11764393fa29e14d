// Fuzzing the Authorization header (shared/authorization-header.ts) and the 401 built from what
// it amounts to (shared/challenge.ts): every header reads as none, bearer, basic or a refusal,
// Basic and Bearer credentials read back as written, and a challenge's scope parses back to the
// repository and actions it asks for.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { readCredentials } from '../../shared/authorization-header.ts';
import { challenge, unauthorized } from '../../shared/challenge.ts';
import type { Requirement } from '../../shared/requirement.ts';
import { parseScope, parseScopes } from '../../shared/scope.ts';
import { anyText, fuzz, mutated } from './fuzz-settings.ts';
import { repositoryName } from './oci-arbitraries.ts';

const realm = { publicUrl: 'https://registry.example', service: 'registry.example' };
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const randomCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
const space = fc.stringMatching(/^[ \t]{1,3}$/);
// Well-formed UTF-8 text: a lone surrogate would not survive the encoding.
const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const user = text.filter((u) => u.length > 0 && !u.includes(':'));

const headerLike = fc.oneof(
  mutated(fc.tuple(user, text).map(([u, p]) => `Basic ${base64(`${u}:${p}`)}`)),
  mutated(fc.string({ maxLength: 40 }).map((token) => `Bearer ${token}`)),
  fc.tuple(fc.constantFrom('Basic', 'Bearer', 'Digest', ''), anyText).map(([s, rest]) => `${s} ${rest}`),
  anyText,
  fc.constantFrom(null, undefined),
);

const requirement: fc.Arbitrary<Requirement> = fc.oneof(
  fc.constant({ kind: 'authenticated' } as const),
  fc.constant({ kind: 'catalog' } as const),
  fc.constant({ kind: 'admin' } as const),
  fc.record({
    kind: fc.constant('repository' as const),
    name: repositoryName,
    action: fc.constantFrom('pull' as const, 'push' as const, 'delete' as const),
  }),
);

describe('the Authorization header', () => {
  test('Basic user:password and Bearer tokens read back as written, whatever the case and spacing', () => {
    fc.assert(
      fc.property(
        randomCase('basic'),
        randomCase('bearer'),
        space,
        user,
        text,
        (basic, bearer, gap, u, p) => {
          expect(readCredentials(`${basic}${gap}${base64(`${u}:${p}`)}`)).toEqual({
            kind: 'basic',
            user: u,
            password: p,
          });
          const token = base64(`${u}${p}`).replaceAll('=', '');
          if (token !== '')
            expect(readCredentials(`${bearer}${gap}${token}`)).toEqual({ kind: 'bearer', token });
        },
      ),
      fuzz(),
    );
  });

  test('any header reads as none, bearer, basic or a refusal; the refusal makes a 401', () => {
    fc.assert(
      fc.property(headerLike, requirement, (header, req) => {
        const credentials = readCredentials(header);
        expect(['none', 'bearer', 'basic', 'refused']).toContain(credentials.kind);
        if (credentials.kind === 'bearer') expect(credentials.token).toBe(credentials.token.trim());
        if (credentials.kind !== 'refused') return;
        const error = unauthorized(realm, req, credentials.refusal);
        expect([error.code, error.status]).toEqual(['UNAUTHORIZED', 401]);
        // The header goes on the wire: it must be a valid header value.
        expect(() => new Headers(error.headers)).not.toThrow();
      }),
      fuzz(),
    );
  });
});

describe('the Bearer challenge', () => {
  test('its scope parses back to the repository and the actions the request needs', () => {
    fc.assert(
      fc.property(
        requirement,
        fc.constantFrom(undefined, 'invalid_token', 'insufficient_scope'),
        (req, err) => {
          const value = challenge(realm, req, err);
          const params = Object.fromEntries(
            [...value.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
          );
          expect(value.startsWith('Bearer ')).toBe(true);
          expect(params.realm).toBe(`${realm.publicUrl}/token`);
          expect(params.service).toBe(realm.service);
          expect(params.error).toBe(err);
          const scopes = parseScopes(params.scope === undefined ? [] : [params.scope]);
          if (req.kind === 'repository') {
            const actions = req.action === 'push' ? ['pull', 'push'] : [req.action];
            expect(scopes).toEqual([{ type: 'repository', name: req.name, actions }]);
          } else if (req.kind === 'authenticated') expect(scopes).toEqual([]);
          else expect(scopes).toEqual([{ type: 'registry', name: req.kind, actions: ['*'] }]);
        },
      ),
      fuzz(),
    );
  });
});

describe('token scopes', () => {
  test('type:name:actions reads back, the name holding colons or not; any text reads as scopes or none', () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
    const scopeName = fc.stringMatching(/^[a-z0-9][a-z0-9:/._-]{0,30}$/);
    fc.assert(
      fc.property(
        word,
        scopeName,
        fc.array(word, { minLength: 1, maxLength: 3 }),
        anyText,
        (type, name, actions, text) => {
          expect(parseScope(`${type}:${name}:${actions.join(',')}`)).toEqual({ type, name, actions });
          for (const entry of parseScopes([text, `${text} ${type}:${name}:${actions.join(',')}`])) {
            expect(entry.type.length > 0 && entry.name.length > 0).toBe(true);
          }
        },
      ),
      fuzz(),
    );
  });
});
