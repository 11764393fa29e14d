// The audit trail: every write to the registry, as one row written in the write's own transaction
// (a domain event listener, registry/events.ts), so an entry exists exactly when its write
// committed — whoever made it: a client (user and address), GC, an administrator's rule change.
// Failed logins too, though they write nothing else.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import { toStorableText } from '../../shared/storable-text.ts';
import type { FailedLogins } from '../auth/users.ts';
import { type AuditEntry, type AuditQuery, insertAuditEntry, listAuditEntries } from '../metadata/audit.ts';
import type { Database, Queryable } from '../metadata/database.ts';
import type { EventListener, RegistryEvent } from '../registry/events.ts';
import { rfc3339Micros } from '../rfc3339.ts';

export type { AuditEntry, AuditQuery } from '../metadata/audit.ts';

/** Characters of a failed login's name that are kept. */
const NAME_MAX = 256;

export class AuditTrail implements EventListener, FailedLogins {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(db: Database, clock: Clock, log: Logger) {
    this.db = db;
    this.clock = clock;
    this.log = log;
  }

  async record(tx: Queryable, event: RegistryEvent): Promise<void> {
    const { actor } = event;
    const who = { user: actor.user, address: actor.address, system: actor.system ?? null };
    const now = this.clock.now();
    /** A write to a repository's content: what it wrote, where. */
    const content = (
      action: string,
      where: { repository: string; tag: string | null; digest: string | null },
      detail: Record<string, unknown>,
    ) => {
      const { repository, tag, digest } = where;
      return insertAuditEntry(tx, { action, repository, tag, digest, ...who, detail }, now);
    };
    /** A rule change: no repository's, its subject in the detail. */
    const rule = (action: string, detail: Record<string, unknown>) =>
      insertAuditEntry(tx, { action, repository: null, tag: null, digest: null, ...who, detail }, now);
    switch (event.type) {
      case 'push':
        return content('push', event, { media_type: event.mediaType, size: event.size });
      case 'tag':
        return content('tag', event, { previous_digest: event.previous });
      case 'delete':
        return content('delete', event, { tags: event.tags, reason: event.reason });
      case 'blob-delete':
        return content('blob.delete', { ...event, tag: null }, {});
      case 'immutable-tags':
        return rule(event.tags ? 'immutable-tags.set' : 'immutable-tags.remove', {
          prefix: event.prefix,
          tags: event.tags,
          previous: event.previous,
        });
      case 'quota':
        return rule(event.limit === null ? 'quota.remove' : 'quota.set', {
          prefix: event.prefix,
          limit: event.limit,
          previous: event.previous,
        });
      case 'retention':
        return rule(event.rule ? 'retention.set' : 'retention.remove', {
          prefix: event.prefix,
          rule: event.rule,
          previous: event.previous,
        });
      case 'policy':
        return rule(event.rule ? 'policy.set' : 'policy.remove', {
          prefix: event.prefix,
          ...(event.rule && {
            threshold: event.rule.threshold,
            only_fixable: event.rule.onlyFixable,
            unscanned: event.rule.unscanned,
          }),
        });
      case 'allowlist':
        return rule(event.entry ? 'allowlist.add' : 'allowlist.remove', {
          prefix: event.prefix,
          vulnerability: event.vulnerability,
          ...(event.entry && {
            expires_at: event.entry.expiresAt === null ? null : new Date(event.entry.expiresAt).toISOString(),
            reason: event.entry.reason,
          }),
        });
      case 'webhook':
        return rule(event.subscription ? 'webhook.add' : 'webhook.delete', {
          id: event.id,
          ...event.subscription,
        });
      case 'robot':
        return rule(event.robot ? 'robot.create' : 'robot.delete', {
          name: event.name,
          ...(event.robot && {
            scopes: event.robot.scopes,
            expires_at: event.robot.expiresAt === null ? null : new Date(event.robot.expiresAt).toISOString(),
          }),
        });
    }
  }

  /**
   * A login that failed (users.ts records only those its throttle admitted): outside any
   * transaction, there being no write. A failure to record it is logged, not the login's.
   */
  async loginFailed(name: string, client: string, reason: string): Promise<void> {
    const record = {
      action: 'login.failed',
      repository: null,
      tag: null,
      digest: null,
      // Outside text: bounded, and without the NUL a text column refuses.
      user: toStorableText(name.slice(0, NAME_MAX)),
      address: client,
      system: null,
      detail: { reason },
    };
    try {
      await insertAuditEntry(this.db, record, this.clock.now());
    } catch (error) {
      this.log.warn(
        { err: error, user: record.user, address: client },
        'failed login not recorded in the audit trail',
      );
    }
  }

  /** A page of entries: newest first, or oldest first after an id (see AuditQuery). */
  list(query: AuditQuery): Promise<AuditEntry[]> {
    return listAuditEntries(this.db, query);
  }
}

/**
 * `since` of the API and the export, in ms; undefined when it is no RFC 3339 time. A "+" offset
 * left unencoded in a query string arrives as a space: it is read as the "+" it was.
 */
export function parseSince(text: string): number | undefined {
  const micros = rfc3339Micros(text.replace(/ (\d{2}:\d{2})$/, '+$1'));
  return micros === undefined ? undefined : Math.floor(micros / 1000);
}

/** An entry as the API and the export write it. */
export function auditJson(e: AuditEntry): Record<string, unknown> {
  return {
    id: e.id,
    at: new Date(e.at).toISOString(),
    action: e.action,
    repository: e.repository,
    tag: e.tag,
    digest: e.digest,
    user: e.user,
    address: e.address,
    system: e.system,
    detail: e.detail,
  };
}
