// What an administrator may send to set a pull policy or allowlist a vulnerability, as the API
// (JSON) and the console (forms) both read it: one schema each, and the domain values they make.
import { z } from 'zod';
import type { PolicyRule } from '../../shared/policy.ts';
import type { StoredAllowlistEntry } from '../metadata/policies.ts';

export const policyInput = z
  .object({
    prefix: z.string().default(''),
    threshold: z.enum(['critical', 'high', 'medium', 'low', 'none']).default('critical'),
    only_fixable: z.boolean().default(false),
    unscanned: z.enum(['allow', 'block']).default('allow'),
  })
  .strict();

export const allowlistInput = z
  .object({
    prefix: z.string().default(''),
    vulnerability: z.string().min(1).max(200),
    expires_at: z.iso.datetime({ offset: true }).optional(),
    reason: z.string().max(2000).optional(),
  })
  .strict();

export function policyRuleOf(p: z.infer<typeof policyInput>): PolicyRule {
  return { prefix: p.prefix, threshold: p.threshold, onlyFixable: p.only_fixable, unscanned: p.unscanned };
}

export function allowlistEntryOf(e: z.infer<typeof allowlistInput>): StoredAllowlistEntry {
  return {
    prefix: e.prefix,
    vulnerability: e.vulnerability,
    ...(e.expires_at ? { expiresAt: Date.parse(e.expires_at) } : {}),
    reason: e.reason ?? null,
  };
}
