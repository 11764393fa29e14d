// Domain events: what a committed write to the registry means to the rest of the system. The
// domain records them in the write's own transaction, so listeners that keep rows (the webhook
// outbox, the scan queue) commit or roll back with the write: an event exists exactly when its
// write does, whoever made it (an HTTP handler, GC, a later writer). After the commit, listeners
// are told in this process, to wake whatever sends or works on those rows.
import type { Queryable } from '../metadata/database.ts';

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
 * A change to the rules the registry enforces, made by an administrator. No listener keeps these
 * yet: they are where the audit trail will record rule changes, in the change's transaction.
 */
export type RuleEvent =
  /** The immutable-tag rule of `prefix` was set (`tags`) or removed (`tags` null). */
  {
    readonly type: 'immutable-tags';
    readonly prefix: string;
    readonly tags: readonly string[] | null;
    /** The patterns the prefix had before (null: no rule). */
    readonly previous: readonly string[] | null;
    readonly actor: Actor;
  };

export type RegistryEvent = RepositoryEvent | RuleEvent;

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
}
