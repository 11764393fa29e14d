// The pull-policy decision (shared/policy.ts), which origin and edge both apply.
import { describe, expect, test } from 'vitest';
import {
  type AllowlistEntry,
  decide,
  type ImageScanState,
  type PolicyRule,
  ruleFor,
} from '../../shared/policy.ts';

const rule = (over: Partial<PolicyRule> = {}): PolicyRule => ({
  prefix: 'prod/',
  threshold: 'critical',
  onlyFixable: false,
  unscanned: 'allow',
  ...over,
});

const scanned = (
  ...vulns: [string, 'critical' | 'high' | 'medium' | 'low' | 'unknown', boolean][]
): ImageScanState => ({
  status: 'completed',
  vulnerabilities: vulns.map(([id, severity, fixable]) => ({ id, severity, fixable })),
});

const NOW = Date.parse('2026-06-01T00:00:00Z');

describe('pull policy decision', () => {
  test('the longest matching prefix applies; no rule, no block', () => {
    const rules = [rule({ prefix: '' }), rule({ prefix: 'prod/' }), rule({ prefix: 'prod/app' })];
    expect(ruleFor(rules, 'prod/app/api')?.prefix).toBe('prod/app');
    expect(ruleFor(rules, 'prod/db')?.prefix).toBe('prod/');
    expect(ruleFor(rules, 'dev/x')?.prefix).toBe('');
    expect(ruleFor([rule()], 'dev/x')).toBeUndefined();
    expect(decide(undefined, [], 'dev/x', scanned(['CVE-1', 'critical', true]), NOW).allowed).toBe(true);
  });

  test('a vulnerability at or above the threshold blocks, named in the message (most severe first)', () => {
    const decision = decide(
      rule({ threshold: 'high' }),
      [],
      'prod/app',
      scanned(['CVE-2023-3', 'high', true], ['CVE-2021-1', 'critical', true], ['CVE-2020-9', 'medium', true]),
      NOW,
    );
    expect(decision).toMatchObject({
      allowed: false,
      message: 'image blocked due to critical and high vulnerabilities (CVE-2021-1, CVE-2023-3)',
      vulnerabilities: ['CVE-2021-1', 'CVE-2023-3'],
    });
    expect(decide(rule(), [], 'prod/app', scanned(['CVE-2023-3', 'high', true]), NOW).allowed).toBe(true);
    expect(
      decide(rule({ threshold: 'none' }), [], 'prod/app', scanned(['CVE-1', 'critical', true]), NOW).allowed,
    ).toBe(true);
  });

  test('unknown severity never reaches a threshold', () => {
    expect(
      decide(rule({ threshold: 'low' }), [], 'prod/app', scanned(['GO-1', 'unknown', true]), NOW).allowed,
    ).toBe(true);
  });

  test('only_fixable ignores vulnerabilities without a fixed version', () => {
    const state = scanned(['CVE-1', 'critical', false], ['CVE-2', 'critical', true]);
    expect(decide(rule({ onlyFixable: true }), [], 'prod/app', state, NOW)).toMatchObject({
      allowed: false,
      message: 'image blocked due to critical vulnerabilities (CVE-2)',
    });
    expect(
      decide(rule({ onlyFixable: true }), [], 'prod/app', scanned(['CVE-1', 'critical', false]), NOW).allowed,
    ).toBe(true);
  });

  test('the allowlist applies by prefix and until it expires', () => {
    const state = scanned(['CVE-1', 'critical', true]);
    const entries = (e: AllowlistEntry) => [e];
    expect(
      decide(rule(), entries({ prefix: '', vulnerability: 'CVE-1' }), 'prod/app', state, NOW).allowed,
    ).toBe(true);
    expect(
      decide(rule(), entries({ prefix: 'prod/app', vulnerability: 'CVE-1' }), 'prod/app', state, NOW).allowed,
    ).toBe(true);
    expect(
      decide(rule(), entries({ prefix: 'dev/', vulnerability: 'CVE-1' }), 'prod/app', state, NOW).allowed,
    ).toBe(false);
    expect(
      decide(
        rule(),
        entries({ prefix: '', vulnerability: 'CVE-1', expiresAt: NOW - 1 }),
        'prod/app',
        state,
        NOW,
      ).allowed,
    ).toBe(false);
    expect(
      decide(
        rule(),
        entries({ prefix: '', vulnerability: 'CVE-1', expiresAt: NOW + 1 }),
        'prod/app',
        state,
        NOW,
      ).allowed,
    ).toBe(true);
  });

  test('images not scanned yet are allowed or blocked as the policy says', () => {
    for (const status of ['none', 'pending', 'running', 'failed'] as const) {
      expect(decide(rule(), [], 'prod/app', { status }, NOW).allowed).toBe(true);
      const blocked = decide(rule({ unscanned: 'block' }), [], 'prod/app', { status }, NOW);
      expect(blocked.allowed).toBe(false);
      if (!blocked.allowed)
        expect(blocked.message).toMatch(/^image blocked: (not scanned yet|scan (pending|running|failed))/);
    }
  });

  test('an image with no vulnerability data for an ecosystem of its packages counts as unscanned', () => {
    const missing = (...vulns: Parameters<typeof scanned>): ImageScanState => ({
      status: 'completed',
      vulnerabilities: vulns.map(([id, severity, fixable]) => ({ id, severity, fixable })),
      missingData: ['Debian', 'npm'],
    });
    const allowed = decide(rule(), [], 'prod/app', missing(), NOW);
    expect(allowed).toEqual({
      allowed: true,
      reason: 'no vulnerability data for Debian, npm; policy allows unscanned images',
    });
    const blocked = decide(rule({ unscanned: 'block' }), [], 'prod/app', missing(), NOW);
    expect(blocked).toMatchObject({
      allowed: false,
      reason: 'no vulnerability data for Debian, npm; policy "prod/" blocks unscanned images',
      vulnerabilities: [],
    });
    if (!blocked.allowed)
      expect(blocked.message).toMatch(/^image blocked: no vulnerability data for Debian, npm/);
    // Below the threshold, what was found does not block: the missing data still does.
    expect(
      decide(rule({ unscanned: 'block' }), [], 'prod/app', missing(['CVE-1', 'high', true]), NOW),
    ).toMatchObject({ allowed: false, vulnerabilities: [] });
    // What was found blocks whatever the policy says of unscanned images.
    const found = decide(rule(), [], 'prod/app', missing(['CVE-2', 'critical', true]), NOW);
    expect(found).toMatchObject({ allowed: false, vulnerabilities: ['CVE-2'] });
    // With the data there (no ecosystem missing) a clean image is clean.
    expect(
      decide(
        rule({ unscanned: 'block' }),
        [],
        'prod/app',
        { status: 'completed', vulnerabilities: [], missingData: [] },
        NOW,
      ).allowed,
    ).toBe(true);
  });

  test('a long list is cut after five names', () => {
    const many = scanned(
      ...Array.from(
        { length: 8 },
        (_, i) => [`CVE-2024-000${i}`, 'critical', true] as [string, 'critical', boolean],
      ),
    );
    const decision = decide(rule(), [], 'prod/app', many, NOW);
    if (decision.allowed) throw new Error('not blocked');
    expect(decision.message).toBe(
      'image blocked due to critical vulnerabilities (CVE-2024-0000, CVE-2024-0001, CVE-2024-0002, CVE-2024-0003, CVE-2024-0004, and 3 more)',
    );
  });
});
