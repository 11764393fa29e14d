// Decides whether a manifest may be pulled. Policies and the allowlist are held in memory and
// reloaded when the database's policy epoch moves (checked every `refresh_interval`, and at once
// after a change made by this process); scan states are cached per digest until the epoch moves.
// With no policy configured, a pull costs nothing here.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import { parseManifest, type ScanOutline, scanSubject } from '../../shared/manifest.ts';
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
import { findScanResults, type ScanResult } from '../metadata/scans.ts';
import { type EcosystemData, ecosystemData } from '../metadata/vuln-sources.ts';
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

  /**
   * What check() would decide for each of a repository's manifests (by digest), without a pull and
   * unlogged: for a listing. Scan states not cached are read together.
   */
  async decisions(
    repository: string,
    manifests: readonly { digest: string; outline: ScanOutline }[],
  ): Promise<Map<string, Decision>> {
    const rule = ruleFor(this.rules, repository);
    const decided = new Map<string, Decision>();
    if (!rule) {
      for (const m of manifests) decided.set(m.digest, { allowed: true, reason: 'no policy applies' });
      return decided;
    }
    const states = await this.scanStates(manifests);
    const now = this.clock.now();
    for (const m of manifests) {
      const state = states.get(m.digest) ?? 'not-an-image';
      decided.set(
        m.digest,
        state === 'not-an-image'
          ? { allowed: true, reason: 'not a container image' }
          : decide(rule, this.allowlist, repository, state, now),
      );
    }
    return decided;
  }

  /** An image's scan state; an index's is the union of its images' (blocked if any image is). */
  private async scanState(subject: PolicySubject): Promise<ImageScanState | 'not-an-image'> {
    const { digest } = subject;
    const cached = this.states.get(digest);
    if (cached) return cached;
    const manifest = parseManifest(subject.bytes, subject.mediaType);
    // Stored bytes that cannot be read cannot have been scanned: judged as a failed scan.
    if (!manifest.ok) return { status: 'failed', error: manifest.error.message };
    const states = await this.scanStates([{ digest, outline: scanSubject(manifest.value) }]);
    return states.get(digest) ?? 'not-an-image';
  }

  /** The scan states of manifests, from the cache or read together (one query for all). */
  private async scanStates(
    manifests: readonly { digest: string; outline: ScanOutline }[],
  ): Promise<Map<string, ImageScanState | 'not-an-image'>> {
    const states = new Map<string, ImageScanState | 'not-an-image'>();
    const unknown: { digest: string; images: string[] }[] = [];
    for (const { digest, outline } of manifests) {
      const cached = this.states.get(digest);
      if (outline.kind === 'artifact') states.set(digest, 'not-an-image');
      else if (cached) states.set(digest, cached);
      else
        unknown.push({
          digest,
          images: outline.kind === 'index' ? outline.children.map((c) => c.digest) : [digest],
        });
    }
    if (unknown.length === 0) return states;
    const [results, data] = await Promise.all([
      findScanResults(this.db, [...new Set(unknown.flatMap((u) => u.images))]),
      ecosystemData(this.db),
    ]);
    for (const { digest, images } of unknown) {
      const state = stateOf(images, results, data);
      this.states.set(digest, state);
      states.set(digest, state);
    }
    return states;
  }
}

/** The state of an image (or of an index's images together) from their scan results. */
function stateOf(
  digests: readonly string[],
  results: ReadonlyMap<string, ScanResult>,
  data: readonly EcosystemData[],
): ImageScanState {
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
  return state;
}
