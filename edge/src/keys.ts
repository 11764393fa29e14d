// origin's token-signing public keys (its JWKS at /token/jwks.json), held per isolate and shared
// through the metadata store. Re-read every KEYS_MAX_AGE; a token naming a key the edge does not
// know makes it fetch the set again at once (key rotation), at most once per
// UNKNOWN_KEY_REFETCH per isolate, so that tokens with made-up key ids cannot hammer origin.
import type { JWK } from 'jose';
import { importVerifyKey, JWKS_PATH, type VerifyKey } from '../../shared/bearer-token.ts';
import type { Clock } from '../../shared/clock.ts';
import type { MetadataStore } from './metadata.ts';
import type { OriginClient } from './origin.ts';
import { singleFlight } from './single-flight.ts';

/** origin serves its JWKS with max-age=300. */
export const KEYS_MAX_AGE_MS = 300_000;
export const UNKNOWN_KEY_REFETCH_MS = 10_000;
/** After a failed fetch, origin is not asked again for this long (requests go on with the keys held). */
const RETRY_AFTER_FAILURE_MS = 10_000;
const META_KEY = 'jwks';

interface StoredKeys {
  readonly keys: JWK[];
  readonly fetchedAt: number;
}

export interface KeyDeps {
  readonly origin: OriginClient;
  readonly meta: MetadataStore;
  readonly defer: (work: Promise<unknown>) => void;
  readonly clock: Clock;
  /** How long a request waits for a fetch another request started. */
  readonly waitMs: number;
}

export type KeyLookup = { kind: 'key'; key: VerifyKey } | { kind: 'unknown' } | { kind: 'unavailable' };

export class KeySet {
  private keys = new Map<string, VerifyKey>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private lastFailure = Number.NEGATIVE_INFINITY;
  private lastUnknownRefetch = Number.NEGATIVE_INFINITY;

  async lookup(kid: string, deps: KeyDeps): Promise<KeyLookup> {
    const now = deps.clock.now();
    if (now - this.fetchedAt > KEYS_MAX_AGE_MS && now - this.lastFailure > RETRY_AFTER_FAILURE_MS) {
      await this.load(deps, true);
    }
    let key = this.keys.get(kid);
    if (!key && this.keys.size > 0 && deps.clock.now() - this.lastUnknownRefetch >= UNKNOWN_KEY_REFETCH_MS) {
      this.lastUnknownRefetch = deps.clock.now();
      await this.load(deps, false);
      key = this.keys.get(kid);
    }
    if (key) return { kind: 'key', key };
    return this.keys.size === 0 ? { kind: 'unavailable' } : { kind: 'unknown' };
  }

  /** Loads the key set: from the store when `storeFirst` and it holds a recent one, else from origin. */
  private load(deps: KeyDeps, storeFirst: boolean): Promise<void> {
    return singleFlight(
      `jwks ${storeFirst}`,
      deps.waitMs,
      () => this.fetchKeys(deps, storeFirst),
      () => true,
    );
  }

  private async fetchKeys(deps: KeyDeps, storeFirst: boolean): Promise<void> {
    try {
      if (storeFirst) {
        const stored = await deps.meta.get<StoredKeys>(META_KEY);
        if (
          stored &&
          deps.clock.now() - stored.fetchedAt <= KEYS_MAX_AGE_MS &&
          stored.fetchedAt > this.fetchedAt
        ) {
          await this.adopt(stored);
          return;
        }
      }
      const fetched = await deps.origin.fetch(JWKS_PATH);
      const document =
        fetched.ok && fetched.answer.status === 200
          ? (JSON.parse(new TextDecoder().decode(fetched.answer.body)) as { keys?: unknown })
          : {};
      if (!Array.isArray(document.keys)) {
        this.lastFailure = deps.clock.now();
        return;
      }
      const stored: StoredKeys = { keys: document.keys as JWK[], fetchedAt: deps.clock.now() };
      await this.adopt(stored);
      deps.defer(deps.meta.put(META_KEY, stored, KEYS_MAX_AGE_MS));
    } catch {
      // A malformed key set: keep the keys held (if any).
      this.lastFailure = deps.clock.now();
    }
  }

  private async adopt(stored: StoredKeys): Promise<void> {
    const keys = new Map<string, VerifyKey>();
    for (const jwk of stored.keys) {
      const { kid } = jwk;
      if (typeof kid !== 'string' || jwk.kty !== 'EC' || jwk.crv !== 'P-256') continue;
      keys.set(kid, await importVerifyKey(jwk));
    }
    if (keys.size === 0) return;
    this.keys = keys;
    this.fetchedAt = stored.fetchedAt;
  }
}
