// What a request handler uses, put together per request from the bindings; the parts holding
// state worth keeping between requests (signing keys, the in-isolate metadata copy) live in
// their modules, once per isolate.
import type { Clock } from '../../shared/clock.ts';
import { edgeClock } from './clock.ts';
import { type EdgeConfig, type Env, readConfig } from './config.ts';
import { CacheApiEdgeCache, type EdgeCache } from './edge-cache.ts';
import { KeySet } from './keys.ts';
import { CacheApiMetadataStore, type MetadataStore } from './metadata.ts';
import { OriginClient } from './origin.ts';

export interface Services {
  readonly config: EdgeConfig;
  /** What TTL, staleness and key-refresh decisions read as the time. */
  readonly clock: Clock;
  /** Blob chunks and manifest bytes (immutable, by digest). */
  readonly cache: EdgeCache;
  /** Mappings and decisions (short-lived). */
  readonly meta: MetadataStore;
  readonly origin: OriginClient;
  readonly keys: KeySet;
  readonly env: Env;
  /** The data centre: the Cache API is per data centre, and so are the chunk locks. */
  readonly colo: string;
  /** Work that may outlive the response (cache writes, lock releases). */
  readonly defer: (work: Promise<unknown>) => void;
}

const configs = new WeakMap<Env, EdgeConfig>();
const keys = new KeySet();

export function createServices(
  env: Env,
  ctx: { waitUntil(work: Promise<unknown>): void },
  request: Request,
): Services {
  let config = configs.get(env);
  if (!config) {
    config = readConfig(env);
    configs.set(env, config);
  }
  const base = new URL(request.url).origin;
  const cf = (request as { cf?: { colo?: unknown } }).cf;
  const clock = edgeClock(env);
  return {
    config,
    clock,
    cache: new CacheApiEdgeCache(caches.default, base),
    meta: new CacheApiMetadataStore(caches.default, base, clock),
    origin: new OriginClient(config, request.headers.get('cf-connecting-ip')),
    keys,
    env,
    colo: typeof cf?.colo === 'string' ? cf.colo : 'local',
    defer: (work) => ctx.waitUntil(work.catch(() => {})),
  };
}
