// GET /v2/{name}/tags/list: origin's answer (per query: n, last), reused for TAG_TTL and, while
// origin is unreachable, for STALE_SECONDS more; keyed by the repository's generation, so that a
// manifest write through the edge is listed at once (generation.ts).
import { API_VERSION, API_VERSION_HEADER } from '../../shared/api-version.ts';
import { errorResponse, ociError } from '../../shared/errors.ts';
import { generationOf, generationScope } from './generation.ts';
import { passThrough } from './origin.ts';
import type { Services } from './services.ts';
import { singleFlight } from './single-flight.ts';

interface TagsEntry {
  readonly at: number;
  readonly body: string;
  readonly contentType: string | null;
  readonly link: string | null;
}

function serve(entry: TagsEntry, cache: string): Response {
  const headers: Record<string, string> = {
    [API_VERSION_HEADER]: API_VERSION,
    'X-Edge-Cache': cache,
  };
  if (entry.contentType) headers['Content-Type'] = entry.contentType;
  if (entry.link) headers.Link = entry.link;
  return new Response(entry.body, { status: 200, headers });
}

export async function getTags(
  s: Services,
  name: string,
  search: string,
  authorization: string | undefined,
): Promise<Response> {
  const { config } = s;
  const key = `tags/${generationScope(name, await generationOf(s, name))}${search}`;
  const entry = await s.meta.get<TagsEntry>(key);
  const now = s.clock.now();
  if (entry && now - entry.at < config.tagTtlMs) return serve(entry, 'HIT');
  const fetched = await singleFlight(
    key,
    config.originTimeoutMs,
    () =>
      s.origin.fetch(`/v2/${name}/tags/list${search}`, {
        headers: authorization ? { Authorization: authorization } : {},
      }),
    (result) => result.ok && result.answer.status === 200,
  );
  if (fetched.ok && fetched.answer.status === 200) {
    const { answer } = fetched;
    const fresh: TagsEntry = {
      at: s.clock.now(),
      body: new TextDecoder().decode(answer.body),
      contentType: answer.headers.get('content-type'),
      link: answer.headers.get('link'),
    };
    s.defer(s.meta.put(key, fresh, config.tagTtlMs + config.staleMs));
    return serve(fresh, 'MISS');
  }
  if (fetched.ok) return passThrough(fetched.answer, 'GET');
  if (entry && now - entry.at < config.tagTtlMs + config.staleMs) return serve(entry, 'STALE');
  return errorResponse(ociError('UNAVAILABLE', { message: `cannot list the tags: ${fetched.reason}` }));
}
