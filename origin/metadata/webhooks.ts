// Webhook subscriptions per repository prefix and their deliveries: a durable outbox, so that a
// delivery survives a restart and is retried with backoff by whichever origin process is up.
import type { Queryable } from './database.ts';

export const WEBHOOK_EVENTS = ['push', 'tag', 'delete', 'vulnerabilities'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface Webhook {
  id: number;
  prefix: string;
  url: string;
  secret: string;
  events: WebhookEvent[];
}

export interface Delivery {
  id: number;
  webhookId: number;
  url: string;
  secret: string;
  event: WebhookEvent;
  payload: unknown;
  attempts: number;
}

export async function listWebhooks(q: Queryable): Promise<Webhook[]> {
  const rows = await q.query<{
    id: number;
    prefix: string;
    url: string;
    secret: string;
    events: WebhookEvent[];
  }>('SELECT id, prefix, url, secret, events FROM webhooks ORDER BY id');
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

export async function addWebhook(q: Queryable, hook: Omit<Webhook, 'id'>): Promise<number> {
  const rows = await q.query<{ id: number }>(
    'INSERT INTO webhooks (prefix, url, secret, events) VALUES ($1, $2, $3, $4) RETURNING id',
    [hook.prefix, hook.url, hook.secret, hook.events],
  );
  return Number(rows[0]?.id);
}

export async function deleteWebhook(q: Queryable, id: number): Promise<boolean> {
  return (await q.query('DELETE FROM webhooks WHERE id = $1 RETURNING id', [id])).length > 0;
}

/** Queues one delivery per subscription whose prefix matches and which wants this event, due at `now`. */
export async function queueDeliveries(
  q: Queryable,
  repository: string,
  event: WebhookEvent,
  payload: unknown,
  now: number,
): Promise<number> {
  const rows = await q.query(
    `INSERT INTO webhook_deliveries (webhook_id, event, payload, state, next_attempt_at, created_at)
     SELECT id, $2, $3, 'pending', $4, $4 FROM webhooks
      WHERE starts_with($1, prefix) AND $2 = ANY(events)
     RETURNING id`,
    [repository, event, JSON.stringify(payload), new Date(now)],
  );
  return rows.length;
}

/**
 * Claims the deliveries due at `now`: each claimed one is pushed into the future by `leaseMs`, so
 * another process does not send it at the same time; a sent one is then marked delivered or
 * rescheduled.
 */
export async function claimDueDeliveries(
  q: Queryable,
  limit: number,
  leaseMs: number,
  now: number,
): Promise<Delivery[]> {
  const rows = await q.query<{
    id: number;
    webhook_id: number;
    url: string;
    secret: string;
    event: WebhookEvent;
    payload: unknown;
    attempts: number;
  }>(
    `UPDATE webhook_deliveries d SET next_attempt_at = $3::timestamptz + $2 * interval '1 millisecond', attempts = d.attempts + 1
       FROM webhooks w
      WHERE w.id = d.webhook_id AND d.id IN (
        SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $3::timestamptz
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.webhook_id, w.url, w.secret, d.event, d.payload, d.attempts`,
    [limit, leaseMs, new Date(now)],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    webhookId: Number(r.webhook_id),
    url: r.url,
    secret: r.secret,
    event: r.event,
    payload: r.payload,
    attempts: r.attempts,
  }));
}

/** Records the outcome of an attempt made at `now` (a failed one is retried `retryInMs` later). */
export async function recordDeliveryAttempt(
  q: Queryable,
  id: number,
  outcome:
    | { delivered: true; status: number }
    | { delivered: false; status: number | null; error: string; retryInMs: number | null },
  now: number,
): Promise<void> {
  if (outcome.delivered) {
    await q.query(
      `UPDATE webhook_deliveries SET state = 'delivered', last_status = $2, last_error = NULL, delivered_at = $3 WHERE id = $1`,
      [id, outcome.status, new Date(now)],
    );
    return;
  }
  await q.query(
    `UPDATE webhook_deliveries SET state = $2, last_status = $3, last_error = $4,
            next_attempt_at = $6::timestamptz + coalesce($5, 0) * interval '1 millisecond'
      WHERE id = $1`,
    [
      id,
      outcome.retryInMs === null ? 'failed' : 'pending',
      outcome.status,
      outcome.error,
      outcome.retryInMs,
      new Date(now),
    ],
  );
}

export interface DeliveryRecord {
  id: number;
  webhookId: number;
  event: WebhookEvent;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  payload: unknown;
  createdAt: Date;
  deliveredAt: Date | null;
}

export async function listDeliveries(
  q: Queryable,
  webhookId: number,
  limit: number,
): Promise<DeliveryRecord[]> {
  const rows = await q.query<{
    id: number;
    webhook_id: number;
    event: WebhookEvent;
    state: DeliveryRecord['state'];
    attempts: number;
    last_status: number | null;
    last_error: string | null;
    payload: unknown;
    created_at: Date;
    delivered_at: Date | null;
  }>(
    `SELECT id, webhook_id, event, state, attempts, last_status, last_error, payload, created_at, delivered_at
       FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2`,
    [webhookId, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    webhookId: Number(r.webhook_id),
    event: r.event,
    state: r.state,
    attempts: r.attempts,
    lastStatus: r.last_status,
    lastError: r.last_error,
    payload: r.payload,
    createdAt: new Date(r.created_at),
    deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
  }));
}
