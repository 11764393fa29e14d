// Webhook subscriptions and their recent deliveries, as administrators manage them.
import type { Database } from '../metadata/database.ts';
import {
  addWebhook,
  type DeliveryRecord,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  type Webhook,
} from '../metadata/webhooks.ts';

export class WebhookSubscriptions {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  list(): Promise<Webhook[]> {
    return listWebhooks(this.db);
  }

  /** Returns the new subscription's id. */
  add(hook: Omit<Webhook, 'id'>): Promise<number> {
    return addWebhook(this.db, hook);
  }

  /** False when there was no such subscription. */
  remove(id: number): Promise<boolean> {
    return deleteWebhook(this.db, id);
  }

  deliveries(id: number, limit: number): Promise<DeliveryRecord[]> {
    return listDeliveries(this.db, id, limit);
  }
}
