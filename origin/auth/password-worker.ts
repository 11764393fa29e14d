// A password-check thread (see password-checks.ts): verifies one password at a time, synchronously,
// so that the hash's CPU work never runs on libuv's thread pool, which file I/O needs.
import { parentPort } from 'node:worker_threads';
import type { CheckReply, CheckRequest } from './password-checks.ts';
import { verifyPassword } from './passwords.ts';

const port = parentPort;
if (!port) throw new Error('password-worker.ts runs as a worker thread');

port.on('message', ({ id, password, hash }: CheckRequest) => {
  let reply: CheckReply;
  try {
    reply = { id, ok: true, match: verifyPassword(password, hash) };
  } catch (error) {
    reply = { id, ok: false, message: (error as Error).message };
  }
  port.postMessage(reply);
});
