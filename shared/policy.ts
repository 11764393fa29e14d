// The pull-policy decision, shared by origin and edge so that both block exactly the same images.
// Inputs are plain data (the rule for the repository, the allowlist, the image's scan state);
// Web APIs only.

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A policy's threshold: block at or above this severity; `none` blocks on nothing. */
export type Threshold = 'critical' | 'high' | 'medium' | 'low' | 'none';

export interface PolicyRule {
  /** Repository-name prefix ('' = every repository); the longest matching prefix applies. */
  prefix: string;
  threshold: Threshold;
  /** Block only for vulnerabilities that have a fixed version. */
  onlyFixable: boolean;
  /**
   * What to do with an image whose scan has not completed (pending, running, failed, never), or
   * that the vulnerabilities found do not block but some of whose packages were matched against
   * no data (an ecosystem with no records).
   */
  unscanned: 'allow' | 'block';
}

export interface AllowlistEntry {
  /** '' = every repository. */
  prefix: string;
  /** A CVE or advisory ID. */
  vulnerability: string;
  /** Epoch ms after which the entry no longer applies; absent = never expires. */
  expiresAt?: number;
}

export interface VulnerabilityBrief {
  id: string;
  severity: Severity;
  fixable: boolean;
}

export type ImageScanState =
  | {
      status: 'completed';
      vulnerabilities: VulnerabilityBrief[];
      /** Ecosystems of the image's packages with no vulnerability data: nothing was found there because nothing was looked for. */
      missingData?: string[];
    }
  | { status: 'pending' | 'running' | 'failed' | 'none'; error?: string };

export type Decision =
  | { allowed: true; reason: string }
  | { allowed: false; reason: string; message: string; vulnerabilities: string[] };

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, unknown: 0 };
const THRESHOLD_RANK: Record<Threshold, number> = { critical: 4, high: 3, medium: 2, low: 1, none: 99 };

/** The rule with the longest prefix of `repository`, if any (pull policies, immutable tags). */
export function ruleFor<R extends { readonly prefix: string }>(
  rules: readonly R[],
  repository: string,
): R | undefined {
  let best: R | undefined;
  for (const rule of rules) {
    if (repository.startsWith(rule.prefix) && (!best || rule.prefix.length > best.prefix.length)) best = rule;
  }
  return best;
}

/** Names listed in a blocked pull's message; the rest are counted. */
const LISTED = 5;

export function decide(
  rule: PolicyRule | undefined,
  allowlist: readonly AllowlistEntry[],
  repository: string,
  scan: ImageScanState,
  now: number,
): Decision {
  if (!rule) return { allowed: true, reason: 'no policy applies' };
  if (scan.status !== 'completed') {
    if (rule.unscanned === 'allow')
      return { allowed: true, reason: `scan ${scan.status}; policy allows unscanned images` };
    const state = scan.status === 'none' ? 'not scanned yet' : `scan ${scan.status}`;
    return {
      allowed: false,
      reason: `${state}; policy "${rule.prefix}" blocks unscanned images`,
      message: `image blocked: ${state} (the policy for this repository requires a completed scan)`,
      vulnerabilities: [],
    };
  }
  const allowed = new Set(
    allowlist
      .filter((e) => repository.startsWith(e.prefix) && (e.expiresAt === undefined || e.expiresAt > now))
      .map((e) => e.vulnerability),
  );
  const blocking = scan.vulnerabilities.filter(
    (v) =>
      RANK[v.severity] >= THRESHOLD_RANK[rule.threshold] &&
      (!rule.onlyFixable || v.fixable) &&
      !allowed.has(v.id),
  );
  if (blocking.length === 0 && scan.missingData && scan.missingData.length > 0) {
    const state = `no vulnerability data for ${scan.missingData.join(', ')}`;
    if (rule.unscanned === 'allow')
      return { allowed: true, reason: `${state}; policy allows unscanned images` };
    return {
      allowed: false,
      reason: `${state}; policy "${rule.prefix}" blocks unscanned images`,
      message: `image blocked: ${state}, so its scan found nothing there (the policy for this repository requires a completed scan)`,
      vulnerabilities: [],
    };
  }
  if (blocking.length === 0) {
    return {
      allowed: true,
      reason: `no ${rule.onlyFixable ? 'fixable ' : ''}vulnerability at or above ${rule.threshold}`,
    };
  }
  const ids = [...new Set(blocking.sort((a, b) => RANK[b.severity] - RANK[a.severity]).map((v) => v.id))];
  const severities = SEVERITIES.filter((s) => blocking.some((v) => v.severity === s));
  const listed =
    ids.slice(0, LISTED).join(', ') + (ids.length > LISTED ? `, and ${ids.length - LISTED} more` : '');
  const kinds =
    severities.length === 1
      ? severities[0]
      : `${severities.slice(0, -1).join(', ')} and ${severities.at(-1)}`;
  return {
    allowed: false,
    reason: `${ids.length} ${rule.onlyFixable ? 'fixable ' : ''}vulnerabilities at or above ${rule.threshold} (policy "${rule.prefix}")`,
    message: `image blocked due to ${kinds} vulnerabilities (${listed})`,
    vulnerabilities: ids,
  };
}
