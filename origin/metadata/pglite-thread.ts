// The serving thread's side of PGlite in a worker (pglite-worker.ts says why): a Database whose
// queries and transactions are messages to the worker. Rows cross by structured clone, which
// keeps numbers, Dates, byte arrays and JSON values as PGlite returns them.
import { Worker } from 'node:worker_threads';
import type { Database, Queryable } from './queryable.ts';

export type PgliteRequest =
  | { id: number; op: 'query'; sql: string; params: readonly unknown[]; tx?: number }
  | { id: number; op: 'begin'; tx: number }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

export type PgliteReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; message: string; code?: string | undefined };

/** A request before it is given its id. */
type Unsent = PgliteRequest extends infer R ? (R extends PgliteRequest ? Omit<R, 'id'> : never) : never;

type Pending = { resolve: (result: unknown) => void; reject: (error: Error) => void };

/** Starts PGlite (data under `dataDir`) in a worker thread; resolves once it is open. */
export async function openPgliteThread(dataDir: string): Promise<Database> {
  const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData: { dataDir } });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let nextTx = 1;
  let failure: Error | undefined;

  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.on('message', (reply: PgliteReply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(Object.assign(new Error(reply.message), reply.code ? { code: reply.code } : {}));
  });
  const fail = (error: Error) => {
    failure = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the PGlite worker exited (${code})`)));

  const send = <T>(request: Unsent): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      worker.postMessage({ ...request, id } as PgliteRequest);
    });
  };
  const queryIn =
    (tx: number | undefined) =>
    <T extends object>(sql: string, params: readonly unknown[] = []): Promise<T[]> =>
      send<T[]>({ op: 'query', sql, params, ...(tx === undefined ? {} : { tx }) });

  return {
    engine: 'pglite',
    query: queryIn(undefined),
    async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const tx = nextTx++;
      await send({ op: 'begin', tx });
      let result: T;
      try {
        result = await work({ query: queryIn(tx) });
      } catch (error) {
        await send({ op: 'end', tx, commit: false }).catch(() => {});
        throw error;
      }
      await send({ op: 'end', tx, commit: true });
      return result;
    },
    async ping() {
      try {
        await send({ op: 'query', sql: 'SELECT 1', params: [] });
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!failure) await send({ op: 'close' }).catch(() => {});
      await worker.terminate();
    },
  };
}
