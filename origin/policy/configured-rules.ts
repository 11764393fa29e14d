// Rules kept per repository-name prefix in two places: the config file (for GitOps: listed by the
// API, read-only there) and the database (set through the API). A config rule hides a stored rule
// of its prefix. Immutable-tag rules, quotas and retention rules are all kept this way.
import { type OciError, ociError } from '../../shared/errors.ts';

/** A rule as the API lists it: where it comes from, and whether it is the one in effect. */
export type Listed<R> = R & { readonly source: 'config' | 'api'; readonly inEffect: boolean };

export class ConfiguredRules<R extends { readonly prefix: string }> {
  private readonly configured: readonly R[];
  private readonly byPrefix: ReadonlyMap<string, R>;
  /** What a rule is called ("quota") and the config file's key of the rules ("quotas"). */
  private readonly noun: string;
  private readonly key: string;

  constructor(configured: readonly R[], names: { noun: string; key: string }) {
    this.configured = [...configured].sort((a, b) =>
      a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0,
    );
    this.byPrefix = new Map(configured.map((r) => [r.prefix, r]));
    this.noun = names.noun;
    this.key = names.key;
  }

  /** The config file's rule of `prefix`, which the API may not change. */
  get(prefix: string): R | undefined {
    return this.byPrefix.get(prefix);
  }

  /** The config file's prefixes. */
  prefixes(): string[] {
    return this.configured.map((r) => r.prefix);
  }

  /** The config's rules, then the stored ones (in the order given), each marked. */
  listed(stored: readonly R[]): Listed<R>[] {
    return [
      ...this.configured.map((r) => ({ ...r, source: 'config' as const, inEffect: true })),
      ...stored.map((r) => ({ ...r, source: 'api' as const, inEffect: !this.byPrefix.has(r.prefix) })),
    ];
  }

  /** The rules in effect: the config's, and the stored ones it does not hide. */
  effective(stored: readonly R[]): R[] {
    return [...this.configured, ...stored.filter((r) => !this.byPrefix.has(r.prefix))];
  }

  /** A change through the API of a prefix the config file rules. */
  readOnly(prefix: string): OciError {
    return ociError('DENIED', {
      message: `the ${this.noun} of prefix "${prefix}" is set in the config file (${this.key}); change it there`,
      detail: { prefix },
    });
  }

  /** A removal of a prefix that has no stored rule: DENIED when the config file has one. */
  absent(prefix: string): OciError {
    if (this.byPrefix.has(prefix)) return this.readOnly(prefix);
    return ociError('NAME_UNKNOWN', { message: `no ${this.noun} for prefix "${prefix}"` });
  }
}
