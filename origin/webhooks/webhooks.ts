// Webhook notifications: events are written to the deliveries table (the outbox) when they
// happen, and a dispatcher in every origin process sends due deliveries, signed with HMAC-SHA256
// over the exact body, retrying failures with exponential backoff until max_attempts.
import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../metadata/database.ts';
import {
  claimDueDeliveries,
  type Delivery,
  queueDeliveries,
  recordDeliveryAttempt,
  type WebhookEvent,
} from '../metadata/webhooks.ts';

export const SIGNATURE_HEADER = 'X-Registry-Signature-256';

export interface WebhookOptions {
  timeoutMs: number;
  maxAttempts: number;
  initialBackoffMs: number;
  pollIntervalMs: number;
}

/** `sha256=<hex>` of the body under the subscription's secret (verify it byte for byte). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class Webhooks {
  private readonly db: Database;
  private readonly log: Logger;
  private readonly options: WebhookOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(db: Database, log: Logger, options: WebhookOptions) {
    this.db = db;
    this.log = log;
    this.options = options;
  }

  /** Records the event for every matching subscription; sending happens in the background. */
  async notify(repository: string, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    const payload = { id: randomUUID(), event, timestamp: new Date().toISOString(), repository, ...data };
    try {
      const queued = await queueDeliveries(this.db, repository, event, payload);
      if (queued > 0) this.kick();
    } catch (error) {
      // A failed notification must not fail the push or delete it reports.
      this.log.error({ err: error, repository, event }, 'webhook: queueing a delivery failed');
    }
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
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
      const due = await claimDueDeliveries(this.db, 20, this.options.timeoutMs * 2);
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
        await recordDeliveryAttempt(this.db, delivery.id, { delivered: true, status });
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
    await recordDeliveryAttempt(this.db, delivery.id, { delivered: false, status, error, retryInMs });
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
