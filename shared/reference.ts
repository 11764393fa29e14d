// Repository names and tags per the OCI Distribution Spec grammar.
import { isDigest } from './digest.ts';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_PATTERN = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** The spec lets registries cap names; 255 characters is what distribution and Docker Hub use. */
export const MAX_NAME_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

export function isTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string };

/** A manifest reference: a digest when it has the digest form, otherwise a tag; null when neither. */
export function parseReference(reference: string): Reference | null {
  if (reference.includes(':')) return isDigest(reference) ? { kind: 'digest', digest: reference } : null;
  return isTag(reference) ? { kind: 'tag', tag: reference } : null;
}
