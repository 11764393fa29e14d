// Pull policies per repository prefix and the CVE allowlist, with the epoch that tells every
// process (and the edge) that policy decisions must be made again.
import type { AllowlistEntry, PolicyRule, Threshold } from '../../shared/policy.ts';
import type { Queryable } from './database.ts';

export async function readPolicyEpoch(q: Queryable): Promise<number> {
  const rows = await q.query<{ epoch: number }>('SELECT epoch FROM policy_epoch WHERE id = 1');
  return Number(rows[0]?.epoch ?? 0);
}

/** Called in the transaction of every change that can alter a decision. */
export async function bumpPolicyEpoch(q: Queryable): Promise<number> {
  const rows = await q.query<{ epoch: number }>(
    'UPDATE policy_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch',
  );
  return Number(rows[0]?.epoch ?? 0);
}

export async function listPolicies(q: Queryable): Promise<PolicyRule[]> {
  const rows = await q.query<{
    prefix: string;
    threshold: Threshold;
    only_fixable: boolean;
    unscanned: 'allow' | 'block';
  }>('SELECT prefix, threshold, only_fixable, unscanned FROM policies ORDER BY prefix');
  return rows.map((r) => ({
    prefix: r.prefix,
    threshold: r.threshold,
    onlyFixable: r.only_fixable,
    unscanned: r.unscanned,
  }));
}

export async function putPolicy(q: Queryable, rule: PolicyRule): Promise<void> {
  await q.query(
    `INSERT INTO policies (prefix, threshold, only_fixable, unscanned) VALUES ($1, $2, $3, $4)
     ON CONFLICT (prefix) DO UPDATE SET threshold = $2, only_fixable = $3, unscanned = $4, updated_at = now()`,
    [rule.prefix, rule.threshold, rule.onlyFixable, rule.unscanned],
  );
}

export async function deletePolicy(q: Queryable, prefix: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM policies WHERE prefix = $1 RETURNING prefix', [prefix]);
  return rows.length > 0;
}

export interface StoredAllowlistEntry extends AllowlistEntry {
  reason: string | null;
}

export async function listAllowlist(q: Queryable): Promise<StoredAllowlistEntry[]> {
  const rows = await q.query<{
    prefix: string;
    vulnerability: string;
    expires_at: Date | null;
    reason: string | null;
  }>('SELECT prefix, vulnerability, expires_at, reason FROM policy_allowlist ORDER BY prefix, vulnerability');
  return rows.map((r) => ({
    prefix: r.prefix,
    vulnerability: r.vulnerability,
    ...(r.expires_at ? { expiresAt: new Date(r.expires_at).getTime() } : {}),
    reason: r.reason,
  }));
}

export async function putAllowlistEntry(q: Queryable, entry: StoredAllowlistEntry): Promise<void> {
  await q.query(
    `INSERT INTO policy_allowlist (prefix, vulnerability, expires_at, reason) VALUES ($1, $2, $3, $4)
     ON CONFLICT (prefix, vulnerability) DO UPDATE SET expires_at = $3, reason = $4`,
    [
      entry.prefix,
      entry.vulnerability,
      entry.expiresAt === undefined ? null : new Date(entry.expiresAt),
      entry.reason,
    ],
  );
}

export async function deleteAllowlistEntry(
  q: Queryable,
  prefix: string,
  vulnerability: string,
): Promise<boolean> {
  const rows = await q.query(
    'DELETE FROM policy_allowlist WHERE prefix = $1 AND vulnerability = $2 RETURNING prefix',
    [prefix, vulnerability],
  );
  return rows.length > 0;
}
