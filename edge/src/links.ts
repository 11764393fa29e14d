// Before a cached blob is served for a repository, the edge knows that repository may see it:
// origin said so (a HEAD of the blob in that repository, with the client's credentials) within
// LINK_TTL, or served within LINK_TTL a manifest of that repository that references it (origin
// checks at push that every blob a manifest references is in the repository). Entries are keyed
// by (repository, digest) and nothing else, so one repository's pulls say nothing about another's.
// Blob sizes are facts about the digest and kept longer.
import { errorResponse, ociError } from '../../shared/errors.ts';
import type { Services } from './services.ts';
import { singleFlight } from './single-flight.ts';

interface LinkEntry {
  /** When origin last vouched for the link (ms). */
  readonly at: number;
}

interface SizeEntry {
  readonly size: number;
}

const SIZE_RETAIN_MS = 30 * 24 * 3600 * 1000;

export type Link =
  | { readonly ok: true; readonly size: number; readonly stale: boolean }
  /** The answer to give; `proxy`: let origin answer the request itself. */
  | { readonly ok: false; readonly response: Response | 'proxy' };

const linkKey = (name: string, digest: string) => `link/${name}/${digest}`;
const sizeKey = (digest: string) => `size/${digest}`;

/** Records that origin vouched, just now, for `digests` being in repository `name`. */
export function recordLinks(s: Services, name: string, digests: readonly string[], at: number): void {
  for (const digest of digests) {
    s.defer(
      s.meta.put(linkKey(name, digest), { at } satisfies LinkEntry, s.config.linkTtlMs + s.config.staleMs),
    );
  }
}

export async function checkLink(
  s: Services,
  name: string,
  digest: string,
  authorization: string | undefined,
  method: string,
): Promise<Link> {
  const known = async () => {
    const [link, size] = await Promise.all([
      s.meta.get<LinkEntry>(linkKey(name, digest)),
      s.meta.get<SizeEntry>(sizeKey(digest)),
    ]);
    return link && size ? { at: link.at, size: size.size } : undefined;
  };
  const fresh = (entry: { at: number } | undefined) =>
    entry !== undefined && s.clock.now() - entry.at < s.config.linkTtlMs;
  const before = await known();
  if (before && fresh(before)) return { ok: true, size: before.size, stale: false };

  const fetched = await singleFlight(
    `link ${name} ${digest}`,
    s.config.originTimeoutMs,
    async () => {
      // A check that just finished may have answered already.
      const now = await known();
      if (now && fresh(now)) return { ok: true, size: now.size } as const;
      return s.origin.fetch(`/v2/${name}/blobs/${digest}`, {
        method: 'HEAD',
        headers: authorization ? { Authorization: authorization } : {},
      });
    },
    (result) => result.ok && ('size' in result || result.answer.status === 200),
  );
  if ('size' in fetched) return { ok: true, size: fetched.size, stale: false };
  if (!fetched.ok) {
    // origin is unreachable: a link it vouched for lately stands in, for STALE_SECONDS.
    if (before && s.clock.now() - before.at < s.config.linkTtlMs + s.config.staleMs)
      return { ok: true, size: before.size, stale: true };
    return {
      ok: false,
      response: errorResponse(
        ociError('UNAVAILABLE', { message: `cannot check the blob: ${fetched.reason}` }),
        method,
      ),
    };
  }
  const { status, headers } = fetched.answer;
  if (status === 404) {
    return { ok: false, response: errorResponse(ociError('BLOB_UNKNOWN', { detail: { digest } }), method) };
  }
  const length = Number(headers.get('content-length'));
  if (status !== 200 || !Number.isSafeInteger(length) || length < 0) return { ok: false, response: 'proxy' };
  recordLinks(s, name, [digest], s.clock.now());
  s.defer(s.meta.put(sizeKey(digest), { size: length } satisfies SizeEntry, SIZE_RETAIN_MS));
  return { ok: true, size: length, stale: false };
}
