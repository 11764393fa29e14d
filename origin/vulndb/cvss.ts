// CVSS base scores from vector strings, and the one severity an OSV record is given.
// v3.0 and v3.1 follow the FIRST specification's base equations (v3.1 with its Roundup, which
// removes the floating-point artefacts of v3.0's plain ceiling); v2 follows the v2 guide.
// v4 is not computed: its score comes from a lookup of macro-vector equivalence classes, not a
// formula, and the records that carry a v4 vector (GHSA) also carry a severity we can use.
import type { Severity } from '../../shared/policy.ts';
import type { OsvRecord, OsvSeverity } from './osv.ts';

export type CvssBand = 'critical' | 'high' | 'medium' | 'low' | 'none';

export type CvssScore =
  | { ok: true; version: '2.0' | '3.0' | '3.1'; score: number; vector: string }
  | { ok: false; reason: string };

const V3_BASE: Record<string, Record<string, number>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  PR: { N: 0.85, L: 0.62, H: 0.27 },
  UI: { N: 0.85, R: 0.62 },
  S: { U: 0, C: 0 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};
// PR weighs more when the vulnerable component's scope is left (the attacker's privileges count
// for less against the component they already hold them on).
const V3_PR_SCOPE_CHANGED: Record<string, number> = { N: 0.85, L: 0.68, H: 0.5 };
// Temporal and environmental metrics may follow the base ones; they do not change the base score.
const V3_OTHER = new Set([
  'E',
  'RL',
  'RC',
  'CR',
  'IR',
  'AR',
  'MAV',
  'MAC',
  'MPR',
  'MUI',
  'MS',
  'MC',
  'MI',
  'MA',
]);

/** The v3.1 Roundup: the smallest one-decimal number ≥ x, computed on integers. */
export function roundUp31(x: number): number {
  const scaled = Math.round(x * 100_000);
  if (scaled % 10_000 === 0) return scaled / 100_000;
  return (Math.floor(scaled / 10_000) + 1) / 10;
}

/** The v3.0 round up, a plain ceiling to one decimal. */
function roundUp30(x: number): number {
  return Math.ceil(x * 10) / 10;
}

/** Base score of a CVSS v3.0 or v3.1 vector ("CVSS:3.1/AV:N/AC:L/…"). */
export function cvss3BaseScore(vector: string): CvssScore {
  const parts = vector.trim().split('/');
  let version: '3.0' | '3.1' = '3.1';
  if (parts[0]?.startsWith('CVSS:')) {
    const v = parts.shift()?.slice(5);
    if (v !== '3.0' && v !== '3.1') return { ok: false, reason: `not a CVSS v3 vector: CVSS:${v}` };
    version = v;
  }
  const metrics = new Map<string, string>();
  for (const part of parts) {
    const [key, value, extra] = part.split(':');
    if (key === undefined || value === undefined || extra !== undefined)
      return { ok: false, reason: `bad metric "${part}"` };
    if (metrics.has(key)) return { ok: false, reason: `metric ${key} given twice` };
    const allowed = V3_BASE[key];
    if (allowed ? !(value in allowed) : !V3_OTHER.has(key))
      return { ok: false, reason: `bad metric "${part}"` };
    metrics.set(key, value);
  }
  for (const key of Object.keys(V3_BASE)) {
    if (!metrics.has(key)) return { ok: false, reason: `missing base metric ${key}` };
  }
  const m = (key: string) => V3_BASE[key]?.[metrics.get(key) as string] as number;
  const changed = metrics.get('S') === 'C';
  const pr = changed ? (V3_PR_SCOPE_CHANGED[metrics.get('PR') as string] as number) : m('PR');
  const iss = 1 - (1 - m('C')) * (1 - m('I')) * (1 - m('A'));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability = 8.22 * m('AV') * m('AC') * pr * m('UI');
  const roundUp = version === '3.1' ? roundUp31 : roundUp30;
  let score = 0;
  if (impact > 0) {
    score = changed
      ? roundUp(Math.min(1.08 * (impact + exploitability), 10))
      : roundUp(Math.min(impact + exploitability, 10));
  }
  return { ok: true, version, score, vector: vector.trim() };
}

const V2_BASE: Record<string, Record<string, number>> = {
  AV: { L: 0.395, A: 0.646, N: 1 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 },
};
const V2_OTHER = new Set(['E', 'RL', 'RC', 'CDP', 'TD', 'CR', 'IR', 'AR']);

/** Base score of a CVSS v2 vector ("AV:N/AC:L/Au:N/C:P/I:P/A:P", parentheses allowed). */
export function cvss2BaseScore(vector: string): CvssScore {
  const text = vector
    .trim()
    .replace(/^\((.*)\)$/, '$1')
    .replace(/^CVSS:2\.0\//, '');
  const metrics = new Map<string, string>();
  for (const part of text.split('/')) {
    const [key, value, extra] = part.split(':');
    if (key === undefined || value === undefined || extra !== undefined)
      return { ok: false, reason: `bad metric "${part}"` };
    if (metrics.has(key)) return { ok: false, reason: `metric ${key} given twice` };
    const allowed = V2_BASE[key];
    if (allowed ? !(value in allowed) : !V2_OTHER.has(key))
      return { ok: false, reason: `bad metric "${part}"` };
    metrics.set(key, value);
  }
  for (const key of Object.keys(V2_BASE)) {
    if (!metrics.has(key)) return { ok: false, reason: `missing base metric ${key}` };
  }
  const m = (key: string) => V2_BASE[key]?.[metrics.get(key) as string] as number;
  const impact = 10.41 * (1 - (1 - m('C')) * (1 - m('I')) * (1 - m('A')));
  const exploitability = 20 * m('AV') * m('AC') * m('Au');
  const f = impact === 0 ? 0 : 1.176;
  // Rounded through an integer so that 7.45 stays 7.5 whatever the binary expansion says.
  const raw = (0.6 * impact + 0.4 * exploitability - 1.5) * f;
  const score = Math.round(Number((raw * 10).toFixed(6))) / 10;
  return { ok: true, version: '2.0', score: Math.max(0, score), vector: vector.trim() };
}

/** The qualitative band of a v3 (or v4) score. */
export function cvssBand(score: number): CvssBand {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'none';
}

/** v2 had three bands: high from 7.0, medium from 4.0, low below. */
function cvss2Band(score: number): Severity {
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}

/** What an advisory's severity is and where it came from. */
export interface RecordSeverity {
  severity: Severity;
  cvssScore?: number;
  cvssVector?: string;
}

const WORD_SEVERITY: Record<string, Severity> = {
  critical: 'critical',
  high: 'high',
  important: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  // Ubuntu's lowest priority: still a vulnerability, not "none".
  negligible: 'low',
};

/**
 * The severity of a record: a CVSS v3 score computed from its vector first; else the severity
 * word its database gives (GHSA's database_specific.severity "CRITICAL|HIGH|MODERATE|LOW"); else
 * an Ubuntu priority; else a CVSS v2 score; else unknown. A v3 score of 0.0 counts as low: the
 * record still names a vulnerability. A v4 vector is kept for display, without a score.
 */
export function recordSeverity(record: OsvRecord): RecordSeverity {
  const entries: OsvSeverity[] = [...(record.severity ?? [])];
  for (const a of record.affected ?? []) entries.push(...(a.severity ?? []));
  const v4 = entries.find((e) => e.type === 'CVSS_V4')?.score;

  for (const entry of entries) {
    if (entry.type !== 'CVSS_V3') continue;
    const scored = cvss3BaseScore(entry.score);
    if (!scored.ok) continue;
    const band = cvssBand(scored.score);
    return { severity: band === 'none' ? 'low' : band, cvssScore: scored.score, cvssVector: scored.vector };
  }
  const word = databaseSeverity(record) ?? ubuntuSeverity(entries);
  if (word) return { severity: word, ...(v4 ? { cvssVector: v4 } : {}) };
  for (const entry of entries) {
    if (entry.type !== 'CVSS_V2') continue;
    const scored = cvss2BaseScore(entry.score);
    if (scored.ok)
      return { severity: cvss2Band(scored.score), cvssScore: scored.score, cvssVector: scored.vector };
  }
  return { severity: 'unknown', ...(v4 ? { cvssVector: v4 } : {}) };
}

function databaseSeverity(record: OsvRecord): Severity | undefined {
  const places = [record.database_specific];
  for (const a of record.affected ?? []) places.push(a.database_specific, a.ecosystem_specific);
  for (const place of places) {
    const value = place?.severity;
    if (typeof value === 'string') {
      const severity = WORD_SEVERITY[value.toLowerCase()];
      if (severity) return severity;
    }
  }
  return undefined;
}

function ubuntuSeverity(entries: readonly OsvSeverity[]): Severity | undefined {
  for (const entry of entries) {
    if (entry.type !== 'Ubuntu') continue;
    const severity = WORD_SEVERITY[entry.score.toLowerCase()];
    if (severity) return severity;
  }
  return undefined;
}
