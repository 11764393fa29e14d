// One Durable Object per (data centre, blob digest, chunk) serialises the misses of that chunk:
// the first request becomes the leader (it fetches the chunk from origin and writes it into the
// cache), the others wait until it says the chunk is there and then read it from the cache. A
// leader that fails wakes them to try again; one that holds its lease too long loses it, and the
// next request to ask takes over. The state is in memory only: if the object goes away, waiting
// requests see an error and fetch for themselves.
//
// Its times are wall-clock time, not the edge's Clock (clock.ts): a lease bounds a fetch that is
// really in progress, and waiters sleep on real timers until it ends, so it must really elapse.
import { DurableObject } from 'cloudflare:workers';

export type Grant =
  /** Fetch the chunk, fill the cache, then release(token, ok). */
  | { readonly role: 'leader'; readonly token: string }
  /** The chunk was just written: read it from the cache. */
  | { readonly role: 'done' }
  /** The leader failed. */
  | { readonly role: 'failed' }
  /** The leader's lease ran out: ask again (the first to ask takes over). */
  | { readonly role: 'timeout' };

/** How long after a fill "done" is answered without a new leader (the entry is in the cache). */
const RECENTLY_DONE_MS = 10_000;

export class ChunkLock extends DurableObject {
  private leader: { token: string; expiresAt: number } | undefined;
  private readonly waiters = new Set<(grant: Grant) => void>();
  private doneAt = Number.NEGATIVE_INFINITY;

  /**
   * Leadership when nobody holds it (or the holder's lease ran out); otherwise waits for the
   * holder's outcome, at most until its lease ends. `afterMiss`: the caller was told "done" but
   * found nothing in the cache, so a recent fill does not count.
   */
  async acquire(leaseMs: number, afterMiss: boolean): Promise<Grant> {
    const now = Date.now();
    if (!afterMiss && now - this.doneAt < RECENTLY_DONE_MS) return { role: 'done' };
    if (!this.leader || this.leader.expiresAt <= now) {
      const token = crypto.randomUUID();
      this.leader = { token, expiresAt: now + leaseMs };
      return { role: 'leader', token };
    }
    const waitMs = this.leader.expiresAt - now;
    return new Promise<Grant>((resolve) => {
      const wake = (grant: Grant) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(grant);
      };
      const timer = setTimeout(() => wake({ role: 'timeout' }), waitMs);
      this.waiters.add(wake);
    });
  }

  /**
   * The outcome of a fill. Any successful fill wakes the waiters (the chunk is in the cache,
   * whoever wrote it); a failure counts only from the current leader.
   */
  async release(token: string, ok: boolean): Promise<void> {
    const current = this.leader?.token === token;
    if (!ok && !current) return;
    if (current) this.leader = undefined;
    if (ok) this.doneAt = Date.now();
    for (const wake of [...this.waiters]) wake({ role: ok ? 'done' : 'failed' });
  }
}
