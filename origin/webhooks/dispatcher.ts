// Sends webhook deliveries queued by the outbox (outbox.ts): every origin process that serves runs
// a dispatcher, which claims due deliveries, signs each with HMAC-SHA256 over the exact body, and
// retries failures with exponential backoff until max_attempts.
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { Database } from '../metadata/database.ts';
import { claimDueDeliveries, type Delivery, recordDeliveryAttempt } from '../metadata/webhooks.ts';
import type { Wakeup } from '../wakeup.ts';

export const SIGNATURE_HEADER = 'X-Registry-Signature-256';

export interface DispatcherOptions {
  timeoutMs: number;
  maxAttempts: number;
  initialBackoffMs: number;
  pollIntervalMs: number;
}

/** `sha256=<hex>` of the body under the subscription's secret (verify it byte for byte). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class WebhookDispatcher {
  private readonly db: Database;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly options: DispatcherOptions;
  private readonly unsubscribe: () => void;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  /** Sends at once when `queued` is notified, and otherwise every `pollIntervalMs`. */
  constructor(db: Database, log: Logger, clock: Clock, queued: Wakeup, options: DispatcherOptions) {
    this.db = db;
    this.log = log;
    this.clock = clock;
    this.options = options;
    this.unsubscribe = queued.subscribe(() => this.kick());
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    clearInterval(this.timer);
    await this.running;
  }

  /** Sends what is due now (one pass at a time per process). */
  kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.sendDue()
      .catch((error: unknown) => this.log.error({ err: error }, 'webhook dispatch failed'))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async sendDue(): Promise<void> {
    for (;;) {
      const due = await claimDueDeliveries(this.db, 20, this.options.timeoutMs * 2, this.clock.now());
      if (due.length === 0) return;
      await Promise.all(due.map((d) => this.send(d)));
      if (this.stopped) return;
    }
  }

  private async send(delivery: Delivery): Promise<void> {
    const body = JSON.stringify(delivery.payload);
    let status: number | null = null;
    let error = '';
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'registry-webhooks/1',
          'X-Registry-Event': delivery.event,
          'X-Registry-Delivery': String(delivery.id),
          [SIGNATURE_HEADER]: signBody(delivery.secret, body),
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'manual',
      });
      status = response.status;
      await response.body?.cancel();
      if (status >= 200 && status < 300) {
        await recordDeliveryAttempt(this.db, delivery.id, { delivered: true, status }, this.clock.now());
        this.log.info(
          { delivery: delivery.id, url: delivery.url, event: delivery.event, status },
          'webhook delivered',
        );
        return;
      }
      error = `HTTP ${status}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const retry = delivery.attempts < this.options.maxAttempts;
    const retryInMs = retry ? this.options.initialBackoffMs * 2 ** (delivery.attempts - 1) : null;
    await recordDeliveryAttempt(
      this.db,
      delivery.id,
      { delivered: false, status, error, retryInMs },
      this.clock.now(),
    );
    this.log.warn(
      {
        delivery: delivery.id,
        url: delivery.url,
        event: delivery.event,
        attempt: delivery.attempts,
        error,
        retry_in_ms: retryInMs,
      },
      retry ? 'webhook delivery failed; will retry' : 'webhook delivery failed; giving up',
    );
  }
}
