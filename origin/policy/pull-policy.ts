// Decides whether a manifest may be pulled. Policies and the allowlist are held in memory and
// reloaded when the database's policy epoch moves (checked every `refresh_interval`, and at once
// after a change made by this process); scan states are cached per digest until the epoch moves.
// With no policy configured, a pull costs nothing here.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import { parseManifest, scanSubject } from '../../shared/manifest.ts';
import {
  type AllowlistEntry,
  type Decision,
  decide,
  type ImageScanState,
  type PolicyRule,
  ruleFor,
  type Severity,
} from '../../shared/policy.ts';
import { LruCache } from '../cache/lru.ts';
import type { Database } from '../metadata/database.ts';
import { listAllowlist, listPolicies, readPolicyEpoch } from '../metadata/policies.ts';
import { findScanResults } from '../metadata/scans.ts';
import { ecosystemData } from '../metadata/vuln-sources.ts';
import { dataCoverage, MATCHES_STORED_DATA } from '../scan/data-coverage.ts';

export interface PolicySubject {
  repository: string;
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

export class PullPolicy {
  private readonly db: Database;
  private readonly log: Logger;
  private readonly clock: Clock;
  private epoch = -1;
  private rules: PolicyRule[] = [];
  private allowlist: AllowlistEntry[] = [];
  private readonly states = new LruCache<string, ImageScanState>(20_000);
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(db: Database, log: Logger, clock: Clock) {
    this.db = db;
    this.log = log;
    this.clock = clock;
  }

  /** Loads the policies, then keeps them current. */
  async start(intervalMs: number): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.log.warn({ err: error }, 'policy refresh failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /** Re-reads the epoch and, if it moved, the policies and allowlist. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const epoch = await readPolicyEpoch(this.db);
        if (epoch === this.epoch) return;
        const [rules, allowlist] = await Promise.all([listPolicies(this.db), listAllowlist(this.db)]);
        this.rules = rules;
        this.allowlist = allowlist;
        this.states.deleteWhere(() => true);
        this.epoch = epoch;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  async check(subject: PolicySubject): Promise<Decision> {
    const rule = ruleFor(this.rules, subject.repository);
    if (!rule) return { allowed: true, reason: 'no policy applies' };
    const state = await this.scanState(subject);
    if (state === 'not-an-image') return { allowed: true, reason: 'not a container image' };
    const decision = decide(rule, this.allowlist, subject.repository, state, this.clock.now());
    this.log.info(
      {
        repository: subject.repository,
        digest: subject.digest,
        policy: rule.prefix,
        decision: decision.allowed ? 'allow' : 'block',
        reason: decision.reason,
      },
      `policy ${decision.allowed ? 'allowed' : 'blocked'} pull of ${subject.repository}@${subject.digest}: ${decision.reason}`,
    );
    return decision;
  }

  /** An image's scan state; an index's is the union of its images' (blocked if any image is). */
  private async scanState(subject: PolicySubject): Promise<ImageScanState | 'not-an-image'> {
    const { digest } = subject;
    const cached = this.states.get(digest);
    if (cached) return cached;
    const manifest = parseManifest(subject.bytes, subject.mediaType);
    // Stored bytes that cannot be read cannot have been scanned: judged as a failed scan.
    if (!manifest.ok) return { status: 'failed', error: manifest.error.message };
    const kind = scanSubject(manifest.value);
    if (kind.kind === 'artifact') return 'not-an-image';
    const digests = kind.kind === 'index' ? kind.children.map((c) => c.digest) : [digest];
    const [results, data] = await Promise.all([findScanResults(this.db, digests), ecosystemData(this.db)]);
    let state: ImageScanState = { status: 'completed', vulnerabilities: [] };
    const missing = new Set<string>();
    for (const d of digests) {
      const result = results.get(d);
      if (result?.status !== 'completed' || !result.findings) {
        const status = !result ? 'none' : result.status === 'completed' ? 'failed' : result.status;
        state = { status };
        break;
      }
      if (result.scanner === MATCHES_STORED_DATA && result.inventory) {
        for (const ecosystem of dataCoverage(result.inventory, data).missing) missing.add(ecosystem);
      }
      if (state.status === 'completed') {
        state.vulnerabilities.push(
          ...result.findings.map((f) => ({
            id: f.id,
            severity: f.severity as Severity,
            fixable: f.fixedVersion !== undefined,
          })),
        );
      }
    }
    // No finding where nothing was looked for does not make the image clean (decide() weighs it).
    if (state.status === 'completed' && missing.size > 0) state.missingData = [...missing].sort();
    this.states.set(digest, state);
    return state;
  }
}
