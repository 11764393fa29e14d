// PGlite in a worker thread. Its JavaScript heap (tens of MB) then lives in the worker's isolate,
// not in the one that serves requests: every full garbage collection of the serving thread (one
// per ~64 MB of request-body buffers on a large push) marks a small heap instead of PGlite's, and
// PGlite's own CPU work runs beside the event loop rather than on it.
// The protocol: see PgliteRequest and PgliteReply in pglite-thread.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { PgliteReply, PgliteRequest } from './pglite-thread.ts';

interface OpenTransaction {
  readonly tx: Transaction;
  readonly finish: (commit: boolean) => void;
  readonly settled: Promise<unknown>;
}

/** Thrown inside a PGlite transaction callback to roll it back. */
class Rollback extends Error {}

const port = parentPort;
if (!port) throw new Error('pglite-worker.ts runs as a worker thread');

const lite = await PGlite.create(`${(workerData as { dataDir: string }).dataDir}/pglite`);
const transactions = new Map<number, OpenTransaction>();

async function begin(id: number): Promise<void> {
  let finish: (commit: boolean) => void = () => {};
  const decided = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  let opened: (tx: Transaction) => void = () => {};
  const ready = new Promise<Transaction>((resolve) => {
    opened = resolve;
  });
  const settled = lite
    .transaction(async (tx) => {
      opened(tx);
      if (!(await decided)) throw new Rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error;
    });
  // A transaction that fails to open rejects `settled` before `ready` resolves.
  const tx = await Promise.race([
    ready,
    settled.then(() => Promise.reject(new Error('transaction ended early'))),
  ]);
  transactions.set(id, { tx, finish, settled });
}

async function handle(request: PgliteRequest): Promise<unknown> {
  switch (request.op) {
    case 'query': {
      const target = request.tx === undefined ? lite : transactions.get(request.tx)?.tx;
      if (!target) throw new Error(`no open transaction ${request.tx}`);
      return (await target.query(request.sql, request.params as unknown[])).rows;
    }
    case 'begin':
      await begin(request.tx);
      return null;
    case 'end': {
      const open = transactions.get(request.tx);
      if (!open) throw new Error(`no open transaction ${request.tx}`);
      transactions.delete(request.tx);
      open.finish(request.commit);
      await open.settled;
      return null;
    }
    case 'close':
      await lite.close();
      return null;
  }
}

port.on('message', (request: PgliteRequest) => {
  handle(request).then(
    (result) => port.postMessage({ id: request.id, ok: true, result } satisfies PgliteReply),
    (error: unknown) => {
      const { message, code } = error as { message?: string; code?: string };
      port.postMessage({
        id: request.id,
        ok: false,
        message: message ?? String(error),
        code,
      } satisfies PgliteReply);
    },
  );
});
port.postMessage({ id: 0, ok: true, result: 'ready' } satisfies PgliteReply);
