// Domain events: what a committed write to the registry means to the rest of the system. The
// domain records them in the write's own transaction, so listeners that keep rows (the webhook
// outbox, the scan queue, the audit trail) commit or roll back with the write: an event exists
// exactly when its write does, whoever made it (an HTTP handler, GC, a later writer). After the
// commit, listeners are told in this process, to wake whatever sends or works on those rows.
import type { Database, Queryable } from '../metadata/database.ts';

/** Who made a write: a user (or nobody, for anonymous or internal writers) from an address. */
export interface Actor {
  readonly user: string | null;
  readonly address: string | null;
  /** What made the write when it was not a client: "gc", for instance. */
  readonly system?: string;
}

export const systemActor = (system: string): Actor => ({ user: null, address: null, system });

/** A write to a repository's content. */
export type RepositoryEvent =
  /** A manifest was stored (again), by tag or by digest. */
  | {
      readonly type: 'push';
      readonly repository: string;
      readonly digest: string;
      readonly mediaType: string;
      readonly size: number;
      readonly tag: string | null;
      /** An image manifest with an image config: something to scan. */
      readonly image: boolean;
      readonly actor: Actor;
    }
  /** A tag now names `digest`; `previous` is what it named before (null: a new tag). */
  | {
      readonly type: 'tag';
      readonly repository: string;
      readonly tag: string;
      readonly digest: string;
      readonly previous: string | null;
      readonly actor: Actor;
    }
  /** A manifest (digest, with the tags that named it) or a tag alone was removed. */
  | {
      readonly type: 'delete';
      readonly repository: string;
      readonly digest: string | null;
      readonly tag: string | null;
      readonly tags: readonly string[];
      readonly reason: string;
      readonly actor: Actor;
    };

/**
 * A blob unlinked from a repository by a client (its bytes stay until GC finds nothing using
 * them). Audited; not a webhook event: subscribers hear of images (push, tag, delete), as
 * distribution's manifest-level notifications do.
 */
export interface BlobEvent {
  readonly type: 'blob-delete';
  readonly repository: string;
  readonly digest: string;
  readonly actor: Actor;
}

/**
 * A change to the rules the registry enforces or to who may use it, made by an administrator (or
 * `registry robot` on the command line). Recorded in the change's transaction; the audit trail
 * keeps them. Each says what the subject is now (null: removed).
 */
export type RuleEvent =
  /** The immutable-tag rule of `prefix` was set (`tags`) or removed (`tags` null). */
  | {
      readonly type: 'immutable-tags';
      readonly prefix: string;
      readonly tags: readonly string[] | null;
      /** The patterns the prefix had before (null: no rule). */
      readonly previous: readonly string[] | null;
      readonly actor: Actor;
    }
  /** The quota of `prefix` was set (`limit`, in bytes) or removed (`limit` null). */
  | {
      readonly type: 'quota';
      readonly prefix: string;
      readonly limit: number | null;
      /** The limit the prefix had before (null: no quota). */
      readonly previous: number | null;
      readonly actor: Actor;
    }
  /**
   * The retention rule of `prefix` was set (`rule`) or removed (`rule` null); clauses as the API
   * writes them (retention/rule.ts `ruleJson`).
   */
  | {
      readonly type: 'retention';
      readonly prefix: string;
      readonly rule: Readonly<Record<string, unknown>> | null;
      readonly previous: Readonly<Record<string, unknown>> | null;
      readonly actor: Actor;
    }
  /** The pull policy of `prefix` was set or removed. */
  | {
      readonly type: 'policy';
      readonly prefix: string;
      readonly rule: {
        readonly threshold: string;
        readonly onlyFixable: boolean;
        readonly unscanned: string;
      } | null;
      readonly actor: Actor;
    }
  /** `vulnerability` was allowlisted under `prefix` (until `expiresAt`), or no longer is. */
  | {
      readonly type: 'allowlist';
      readonly prefix: string;
      readonly vulnerability: string;
      readonly entry: { readonly expiresAt: number | null; readonly reason: string | null } | null;
      readonly actor: Actor;
    }
  /** Webhook subscription `id` was added or deleted (its secret is never in an event). */
  | {
      readonly type: 'webhook';
      readonly id: number;
      readonly subscription: {
        readonly prefix: string;
        readonly url: string;
        readonly events: readonly string[];
      } | null;
      readonly actor: Actor;
    }
  /** Robot account `name` was created or deleted (its secret is never in an event). */
  | {
      readonly type: 'robot';
      readonly name: string;
      readonly robot: {
        readonly scopes: readonly { readonly prefix: string; readonly actions: readonly string[] }[];
        readonly expiresAt: number | null;
      } | null;
      readonly actor: Actor;
    };

const REPOSITORY_EVENTS: ReadonlySet<string> = new Set([
  'push',
  'tag',
  'delete',
] satisfies RepositoryEvent['type'][]);

/** A write to a repository's content, not a rule change. */
export function isRepositoryEvent(event: RegistryEvent): event is RepositoryEvent {
  return REPOSITORY_EVENTS.has(event.type);
}

export type RegistryEvent = RepositoryEvent | BlobEvent | RuleEvent;

export interface EventListener {
  /** In the write's transaction: a failure here rolls the write back. */
  record?(tx: Queryable, event: RegistryEvent): Promise<void>;
  /** After the write committed, in this process. Must not throw. */
  committed?(event: RegistryEvent): void;
}

export class DomainEvents {
  private readonly listeners: readonly EventListener[];

  constructor(listeners: readonly EventListener[]) {
    this.listeners = listeners;
  }

  async record(tx: Queryable, event: RegistryEvent): Promise<void> {
    for (const listener of this.listeners) await listener.record?.(tx, event);
  }

  committed(events: readonly RegistryEvent[]): void {
    for (const event of events) for (const listener of this.listeners) listener.committed?.(event);
  }

  /**
   * A change and its event: `work` runs in a transaction of `db` and answers the event it made
   * (null: it changed nothing), recorded in that transaction and, once committed, told.
   */
  async change<E extends RegistryEvent>(
    db: Database,
    work: (tx: Queryable) => Promise<E | null>,
  ): Promise<E | null> {
    const event = await db.transaction(async (tx) => {
      const done = await work(tx);
      if (done) await this.record(tx, done);
      return done;
    });
    if (event) this.committed([event]);
    return event;
  }
}
