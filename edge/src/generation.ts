// A repository's generation: part of the key of everything the edge caches about its tags — the
// reference → digest mappings (manifests.ts) and the tags lists (tags.ts) — and replaced when a
// write through this edge changes them (a manifest PUT or DELETE, app.ts), before the client hears
// back. The next read in this data centre then finds none of the old entries (every Accept variant
// of every reference at once, with no index of them to keep) and asks origin; the old entries are
// never read again and age out.
//
// - Read from the data centre's store on every request, never the isolate's copy: the write may
//   have gone through another isolate.
// - A random value, not a counter: two writes at once each make a new one (both could bump a
//   counter to the same value, and an answer cached between them would stand), and a generation
//   the cache dropped is replaced by a new one, never by a default that older entries could share.
// - An answer origin gave before a write is stored under the generation its request read, which
//   the write has replaced: it cannot reappear.
import type { Services } from './services.ts';

/** Longer than any entry keyed by a generation is kept (a digest's mapping: 24 h). */
const RETAIN_MS = 48 * 3600 * 1000;

const generationKey = (name: string) => `generation/${name}`;

function newGeneration(): string {
  return crypto.randomUUID().replaceAll('-', '').slice(0, 16);
}

/** The repository's current generation; the first request to find none makes one. */
export async function generationOf(s: Services, name: string): Promise<string> {
  const current = await s.meta.getShared<string>(generationKey(name));
  if (current) return current;
  const made = newGeneration();
  // Stored before origin is asked, so that what this request caches is no older than the
  // generation it is filed under, whichever of this and a write's renewal lands last.
  await s.meta.put(generationKey(name), made, RETAIN_MS);
  return made;
}

/** After a write: what this data centre cached about the repository's tags is no longer read. */
export async function renewGeneration(s: Services, name: string): Promise<void> {
  await s.meta.put(generationKey(name), newGeneration(), RETAIN_MS);
}

/** The part of a cache key that names the repository at its current generation. */
export function generationScope(name: string, generation: string): string {
  // `@` cannot occur in a repository name, so the name ends where it stands.
  return `${name}@${generation}`;
}
