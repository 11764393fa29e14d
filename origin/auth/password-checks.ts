// Password checks on threads of their own, with a bounded queue. scrypt and bcrypt cost tens of
// milliseconds of CPU each; run on libuv's shared thread pool (crypto.scrypt), a flood of wrong
// passwords would queue every other client's file reads behind it. Here they run on `threads`
// worker threads (started on first use), at most `queue` more wait, and a check beyond that is
// refused at once ('busy') rather than queued without end.
import { Worker } from 'node:worker_threads';

export interface CheckRequest {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
}

export type CheckReply =
  | { readonly id: number; readonly ok: true; readonly match: boolean }
  | { readonly id: number; readonly ok: false; readonly message: string };

export type CheckOutcome = 'match' | 'mismatch' | 'busy';

interface Job {
  readonly request: CheckRequest;
  readonly resolve: (outcome: CheckOutcome) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  job: Job | undefined;
}

export interface PasswordCheckLimits {
  /** Threads hashing at once. */
  readonly threads: number;
  /** Checks that may wait for a thread; more are refused. */
  readonly queue: number;
}

export class PasswordChecks {
  private readonly limits: PasswordCheckLimits;
  private readonly threads: Thread[] = [];
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(limits: PasswordCheckLimits) {
    this.limits = limits;
  }

  /** Whether `password` matches `hash`; 'busy' when every thread is working and the queue is full. */
  check(password: string, hash: string): Promise<CheckOutcome> {
    if (this.closed) return Promise.reject(new Error('password checks are closed'));
    const idle = this.idleThread();
    if (!idle && this.waiting.length >= this.limits.queue) return Promise.resolve('busy');
    return new Promise<CheckOutcome>((resolve, reject) => {
      const job = { request: { id: this.nextId++, password, hash }, resolve, reject };
      if (idle) this.run(idle, job);
      else this.waiting.push(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const stopped = new Error('password checks are closed');
    for (const job of this.waiting.splice(0)) job.reject(stopped);
    const threads = this.threads.splice(0);
    for (const thread of threads) thread.job?.reject(stopped);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private idleThread(): Thread | undefined {
    const idle = this.threads.find((thread) => thread.job === undefined);
    if (idle || this.threads.length >= this.limits.threads) return idle;
    return this.start();
  }

  private start(): Thread {
    const worker = new Worker(new URL('./password-worker.ts', import.meta.url));
    // Idle threads do not keep the process alive; the server does while it serves.
    worker.unref();
    const thread: Thread = { worker, job: undefined };
    worker.on('message', (reply: CheckReply) => {
      const job = thread.job;
      if (!job || job.request.id !== reply.id) return;
      thread.job = undefined;
      if (reply.ok) job.resolve(reply.match ? 'match' : 'mismatch');
      else job.reject(new Error(`password check failed: ${reply.message}`));
      this.next(thread);
    });
    // A thread that dies fails its check; the next check starts another.
    const lost = (error: Error) => {
      const index = this.threads.indexOf(thread);
      if (index < 0) return;
      this.threads.splice(index, 1);
      thread.job?.reject(error);
      thread.job = undefined;
      const waiting = this.waiting.shift();
      if (waiting && !this.closed) this.run(this.idleThread() as Thread, waiting);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`a password-check thread exited (${code})`)));
    this.threads.push(thread);
    return thread;
  }

  private run(thread: Thread, job: Job): void {
    thread.job = job;
    thread.worker.postMessage(job.request);
  }

  private next(thread: Thread): void {
    const job = this.waiting.shift();
    if (job) this.run(thread, job);
  }
}
