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
    const event = await this.db.transaction(async (tx) => {
      const id = await addWebhook(tx, hook);
      const { prefix, url, events } = hook;
      const added: RuleEvent = { type: 'webhook', id, subscription: { prefix, url, events }, actor };
      await this.events.record(tx, added);
      return { ...added, id };
    });
    this.events.committed([event]);
    return event.id;
  }

  /** False when there was no such subscription. */
  async remove(id: number, actor: Actor): Promise<boolean> {
    const event = await this.db.transaction(async (tx) => {
      if (!(await deleteWebhook(tx, id))) return null;
      const removed: RuleEvent = { type: 'webhook', id, subscription: null, actor };
      await this.events.record(tx, removed);
      return removed;
    });
    if (event) this.events.committed([event]);
    return event !== null;
  }

  deliveries(id: number, limit: number): Promise<DeliveryRecord[]> {
    return listDeliveries(this.db, id, limit);
  }
}
