// Webhook subscriptions and their recent deliveries, as administrators manage them. Each change
// records its event (registry/events.ts: the audit trail keeps it) in its transaction.
import type { Database } from '../metadata/database.ts';
import {
  addWebhook,
  type DeliveryRecord,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  type Webhook,
} from '../metadata/webhooks.ts';
import type { Actor, DomainEvents, RuleEvent } from '../registry/events.ts';

export class WebhookSubscriptions {
  private readonly db: Database;
  private readonly events: DomainEvents;

  constructor(db: Database, events: DomainEvents) {
    this.db = db;
    this.events = events;
  }

  list(): Promise<Webhook[]> {
    return listWebhooks(this.db);
  }

  /** Returns the new subscription's id. */
  async add(hook: Omit<Webhook, 'id'>, actor: Actor): Promise<number> {
    let id = 0;
    await this.events.change(this.db, async (tx) => {
      id = await addWebhook(tx, hook);
      const { prefix, url, events } = hook;
      return { type: 'webhook', id, subscription: { prefix, url, events }, actor } satisfies RuleEvent;
    });
    return id;
  }

  /** False when there was no such subscription. */
  async remove(id: number, actor: Actor): Promise<boolean> {
    const event = await this.events.change(this.db, async (tx) =>
      (await deleteWebhook(tx, id))
        ? ({ type: 'webhook', id, subscription: null, actor } satisfies RuleEvent)
        : null,
    );
    return event !== null;
  }

  deliveries(id: number, limit: number): Promise<DeliveryRecord[]> {
    return listDeliveries(this.db, id, limit);
  }
}
