// The webhook outbox: an event becomes one delivery row per matching subscription, written in the
// transaction of the write it reports (see registry/events.ts), so a delivery exists exactly when
// its write committed. The dispatcher (dispatcher.ts) sends the rows later, from any process.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import type { Queryable } from '../metadata/database.ts';
import { queueDeliveries, type WebhookEvent } from '../metadata/webhooks.ts';
import {
  type EventListener,
  isRepositoryEvent,
  type RegistryEvent,
  type RepositoryEvent,
} from '../registry/events.ts';
import { Wakeup } from '../wakeup.ts';

export class WebhookOutbox implements EventListener {
  /** Notified after a commit that queued deliveries (the dispatcher listens). */
  readonly queued = new Wakeup();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Queues `event` for the subscriptions of `repository` that want it; returns how many. */
  async queue(
    q: Queryable,
    repository: string,
    event: WebhookEvent,
    data: Record<string, unknown>,
  ): Promise<number> {
    const payload = {
      id: randomUUID(),
      event,
      timestamp: new Date(this.clock.now()).toISOString(),
      repository,
      ...data,
    };
    return queueDeliveries(q, repository, event, payload, this.clock.now());
  }

  async record(tx: Queryable, event: RegistryEvent): Promise<void> {
    // Subscriptions are to repositories' events; a rule change is no repository's.
    if (!isRepositoryEvent(event)) return;
    await this.queue(tx, event.repository, event.type, payloadOf(event));
  }

  /** Call after the transaction that queued deliveries committed. */
  committed(): void {
    this.queued.notify();
  }
}

/** What a subscriber reads about an event (beside id, event, timestamp and repository). */
function payloadOf(event: RepositoryEvent): Record<string, unknown> {
  const actor = event.actor.user ?? event.actor.system ?? null;
  switch (event.type) {
    case 'push':
      return {
        digest: event.digest,
        tag: event.tag,
        media_type: event.mediaType,
        size: event.size,
        actor,
      };
    case 'tag':
      return { tag: event.tag, digest: event.digest, previous_digest: event.previous, actor };
    case 'delete':
      return {
        digest: event.digest,
        tag: event.tag,
        tags: event.tags,
        reason: event.reason,
        actor,
      };
  }
}
