// Generators of valid OCI names, tags and digests, for the fuzz files that need well-formed ones
// (the references file mutates them; the HTTP and challenge files build requests from them).
import fc from 'fast-check';
import { MAX_NAME_LENGTH } from '../../shared/reference.ts';

export const nameComponent = fc.stringMatching(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/, { maxLength: 30 });
export const repositoryName = fc
  .array(nameComponent, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('/'))
  .filter((name) => name.length <= MAX_NAME_LENGTH);
export const tag = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
export const digest = fc.oneof(
  fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`),
  fc.stringMatching(/^[a-f0-9]{128}$/).map((hex) => `sha512:${hex}`),
);
