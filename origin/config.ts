// The registry's configuration: one YAML file, every key also settable by environment variable
// (`REGISTRY_` + the key path in capitals, e.g. REGISTRY_HTTP_ADDR, REGISTRY_DATABASE_URL).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isRobotLogin } from './auth/robot-names.ts';
import { parseDurationMs } from './duration.ts';
import { cronProblem } from './gc/cron.ts';
import { tagPatterns } from './policy/tag-pattern.ts';
import { retentionRuleInput } from './retention/rule.ts';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (examples: 90s, 30m, 1h)` });
    return z.NEVER;
  }
  return ms;
});

const MiB = 1024 * 1024;
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1000,
  kB: 1000,
  KiB: 1024,
  MB: 1e6,
  MiB,
  GB: 1e9,
  GiB: 1024 * MiB,
  TB: 1e12,
  TiB: 1024 * 1024 * MiB,
};

/**
 * A size in bytes: a number, or a string such as "8MiB", "5MB", "1GiB", "10GB" (decimal: 1 GB = 10⁹ B).
 * Either way a whole number of bytes from 1 to Number.MAX_SAFE_INTEGER ("1.5KB" is 1500 bytes;
 * "0.4B" and "0B" are refused, not rounded, and so is a size beyond what a number holds exactly).
 */
export const byteSize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+)(?:\.(\d+))?\s*(B|KB|kB|KiB|MB|MiB|GB|GiB|TB|TiB)$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a size (examples: 8MiB, 64MB, 1GiB)` });
    return z.NEVER;
  }
  // Exact arithmetic: 1.1KB is 1100 bytes, not 1100.0000000000002.
  const fraction = match[2] ?? '';
  const scaled = BigInt(`${match[1]}${fraction}`) * BigInt(SIZE_UNITS[match[3] as string] as number);
  const divisor = 10n ** BigInt(fraction.length);
  const problem =
    scaled % divisor !== 0n
      ? 'is not a whole number of bytes'
      : scaled === 0n
        ? 'is less than 1 byte'
        : scaled / divisor > BigInt(Number.MAX_SAFE_INTEGER)
          ? `is more than ${Number.MAX_SAFE_INTEGER} bytes`
          : undefined;
  if (problem) {
    ctx.addIssue({ code: 'custom', message: `"${value}" ${problem}` });
    return z.NEVER;
  }
  return Number(scaled / divisor);
});

/**
 * osv.dev's exports for the ecosystems the scanner reads packages of: Debian and Alpine OS
 * packages, and the npm, PyPI, Go, Maven, RubyGems, Packagist and NuGet packages of applications.
 */
export const DEFAULT_VULNDB_SOURCES: readonly string[] = [
  'Debian',
  'Alpine',
  'npm',
  'PyPI',
  'Go',
  'Maven',
  'RubyGems',
  'Packagist',
  'NuGet',
].map((ecosystem) => `https://osv-vulnerabilities.storage.googleapis.com/${ecosystem}/all.zip`);

const action = z.enum(['pull', 'push', 'delete']);

const accessRule = z
  .object({
    prefix: z.string().default(''),
    users: z.array(z.string()).default([]),
    anonymous: z.boolean().default(false),
    actions: z.array(action).min(1),
  })
  .strict();

const userEntry = z
  .object({
    name: z
      .string()
      .min(1)
      .refine((name) => !isRobotLogin(name), "robot$… is a robot account's name, not a user's"),
    password_hash: z.string().min(1),
  })
  .strict();

/** A limit on the bytes a prefix's repositories use (origin/policy/quotas.ts); read-only in the admin API. */
const quotaRule = z
  .object({
    prefix: z.string().default(''),
    limit: byteSize,
  })
  .strict();

/** Rules of one prefix each, at most. */
const onePerPrefix = <R extends { prefix: string }>(rules: R[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  for (const [i, rule] of rules.entries()) {
    if (seen.has(rule.prefix))
      ctx.addIssue({ code: 'custom', path: [i, 'prefix'], message: `prefix "${rule.prefix}" has two rules` });
    seen.add(rule.prefix);
  }
};

/** Tags that never move once pushed (origin/policy/immutable-tags.ts); read-only in the admin API. */
const immutableTagRule = z
  .object({
    prefix: z.string().default(''),
    tags: tagPatterns,
  })
  .strict();

const schema = z
  .object({
    data_dir: z.string().default('./data'),
    http: z
      .object({
        addr: z
          .string()
          .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:5000')
          .refine(
            (addr) => Number(addr.slice(addr.lastIndexOf(':') + 1)) <= 65535,
            'the port must be at most 65535',
          )
          .default('127.0.0.1:5000'),
        public_url: z.url().optional(),
        shutdown_timeout: duration.default(30_000),
        /** PEM files: HTTPS (HTTP/1.1 and HTTP/2) on http.addr, re-read on SIGHUP or when they change. */
        tls: z
          .object({ certificate: z.string().min(1), key: z.string().min(1) })
          .strict()
          .optional(),
      })
      .strict()
      .default({ addr: '127.0.0.1:5000', shutdown_timeout: 30_000 }),
    database: z
      .object({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
          .optional(),
        pool_size: z.number().int().min(1).max(1000).default(10),
      })
      .strict()
      .default({ pool_size: 10 }),
    storage: z
      .object({
        backend: z.enum(['filesystem', 's3']).default('filesystem'),
        filesystem: z.object({ root: z.string().optional() }).strict().default({}),
        s3: z
          .object({
            bucket: z.string().min(3),
            region: z.string().default('us-east-1'),
            prefix: z
              .string()
              .default('')
              .refine((p) => p === '' || p.endsWith('/'), 'the prefix must be empty or end with /'),
            /** For MinIO, R2 and other S3 servers; absent means AWS. */
            endpoint: z.url().optional(),
            force_path_style: z.boolean().optional(),
            /** Absent: the standard AWS environment and credential chain. */
            access_key_id: z.string().optional(),
            secret_access_key: z.string().optional(),
            session_token: z.string().optional(),
            /** Connections kept to S3 (keep-alive pool). */
            max_sockets: z.number().int().min(1).max(4096).default(64),
            /** Bytes per multipart part (5 MiB to 5 GiB) and parts sent at once per upload. */
            part_size: byteSize
              .default(8 * MiB)
              .refine((n) => n >= 5 * MiB && n <= 5 * 1024 * MiB, 'from 5MiB to 5GiB'),
            upload_concurrency: z.number().int().min(1).max(64).default(4),
            /** Answer blob GETs with a 307 to a presigned S3 URL instead of streaming them. */
            redirect: z.boolean().default(false),
            redirect_expiry: duration.default(900_000),
          })
          .strict()
          .optional(),
        cache: z
          .object({
            type: z.enum(['memory', 'redis']).default('memory'),
            redis_url: z
              .string()
              .regex(/^rediss?:\/\//, 'expected a redis:// URL')
              .optional(),
            /** Prefix of the registry's Redis keys (absent: `registry:`), to share one Redis. */
            redis_prefix: z.string().min(1).optional(),
            /** Disk LRU of hot blobs in front of the storage backend (absent: none). */
            disk_path: z.string().optional(),
            disk_size_gb: z.number().positive().optional(),
            /** The same bound in smaller units (tests, small machines); disk_size_gb wins if both are set. */
            disk_size_mb: z.number().positive().optional(),
          })
          .strict()
          .default({ type: 'memory' }),
      })
      .strict()
      .superRefine((storage, ctx) => {
        if (storage.backend === 's3' && !storage.s3) {
          ctx.addIssue({ code: 'custom', path: ['s3'], message: 'required when storage.backend is s3' });
        }
        if (storage.cache.type === 'redis' && !storage.cache.redis_url) {
          ctx.addIssue({
            code: 'custom',
            path: ['cache', 'redis_url'],
            message: 'required when cache.type is redis',
          });
        }
        if (storage.cache.disk_path && !storage.cache.disk_size_gb && !storage.cache.disk_size_mb) {
          ctx.addIssue({
            code: 'custom',
            path: ['cache', 'disk_size_gb'],
            message: 'required with cache.disk_path',
          });
        }
      })
      .default({ backend: 'filesystem', filesystem: {}, cache: { type: 'memory' } }),
    gc: z
      .object({
        /** Cron expression (5 or 6 fields) for scheduled runs; absent: only manual runs. */
        schedule: z
          .string()
          .superRefine((value, ctx) => {
            const problem = cronProblem(value);
            if (problem)
              ctx.addIssue({ code: 'custom', message: `"${value}" is not a cron expression: ${problem}` });
          })
          .optional(),
        /** Unreferenced blobs younger than this are kept (a push may be about to reference them). */
        grace_period: duration.default(86_400_000),
        /** Also remove untagged manifests (those no tag, index or subject reaches). */
        untagged: z.boolean().default(false),
      })
      .strict()
      .default({ grace_period: 86_400_000, untagged: false }),
    uploads: z
      .object({
        expiry: duration.default(3_600_000),
        purge_interval: duration.default(60_000),
        /** Open sessions per user (anonymous pushers: per client address); beyond, POST answers 429. */
        max_sessions_per_user: z.number().int().min(1).default(1000),
      })
      .strict()
      .default({ expiry: 3_600_000, purge_interval: 60_000, max_sessions_per_user: 1000 }),
    auth: z
      .object({
        service: z.string().optional(),
        issuer: z.string().default('registry'),
        token_expiry: duration.default(300_000),
        htpasswd: z.string().optional(),
        login_throttle: z
          .object({
            max_failures: z.number().int().min(1).default(10),
            window: duration.default(60_000),
          })
          .strict()
          .default({ max_failures: 10, window: 60_000 }),
        /** Password hashes are checked on threads of their own, with a bounded queue (password-checks.ts). */
        password_checks: z
          .object({
            threads: z.number().int().min(1).max(64).default(1),
            queue: z.number().int().min(0).max(100_000).default(32),
          })
          .strict()
          .default({ threads: 1, queue: 32 }),
        users: z.array(userEntry).default([]),
        access: z.array(accessRule).optional(),
        /** Users who may run the admin endpoints (POST /admin/gc). */
        admins: z.array(z.string().min(1)).default(['admin']),
      })
      .strict()
      .default({
        issuer: 'registry',
        token_expiry: 300_000,
        login_throttle: { max_failures: 10, window: 60_000 },
        password_checks: { threads: 1, queue: 32 },
        users: [],
        admins: ['admin'],
      }),
    scan: z
      .object({
        /** Scan every pushed image (manual scans work either way). */
        on_push: z.boolean().default(true),
        /** builtin: the embedded scanner (nothing to install); trivy: the Trivy CLI. */
        scanner: z.enum(['builtin', 'trivy']).default('builtin'),
        /** Scans run at once by this process (each reads one layer at a time). */
        concurrency: z.number().int().min(0).max(64).default(1),
        /** A scan still running after this fails with that reason. */
        timeout: duration.default(600_000),
        /** How often an idle worker looks for jobs queued by other processes. */
        poll_interval: duration.default(1_000),
        trivy: z
          .object({ path: z.string().default('trivy'), cache_dir: z.string().optional() })
          .strict()
          .default({ path: 'trivy' }),
        /** POST /admin/vulndb/import {path} reads only under this directory; absent: no path is read. */
        vulndb_dir: z.string().min(1).optional(),
        /** The largest archive POST /admin/vulndb/import takes in its body, or a source's download. */
        vulndb_upload_max: byteSize.default(1024 * MiB),
        /**
         * Where vulnerability data is fetched from (origin/vulndb/sources.ts): http(s) URLs of OSV
         * exports (all.zip), fetched with conditional GETs, or local paths (an all.zip, a
         * directory of records). [] fetches nothing.
         */
        sources: z.array(z.string().min(1)).default([...DEFAULT_VULNDB_SOURCES]),
        /** How often `registry serve` checks each source; 0 disables the schedule. */
        update_interval: duration.default(6 * 3_600_000),
        /** Attempts after the first when a source fails (network, 5xx); the wait doubles each time. */
        update_retries: z.number().int().min(0).max(10).default(3),
        update_backoff: duration.default(30_000),
      })
      .strict()
      .default({
        on_push: true,
        scanner: 'builtin',
        concurrency: 1,
        timeout: 600_000,
        poll_interval: 1_000,
        trivy: { path: 'trivy' },
        vulndb_upload_max: 1024 * MiB,
        sources: [...DEFAULT_VULNDB_SOURCES],
        update_interval: 6 * 3_600_000,
        update_retries: 3,
        update_backoff: 30_000,
      }),
    policy: z
      .object({
        /** How often a process looks for policy, allowlist and scan-result changes made by others. */
        refresh_interval: duration.default(1_000),
      })
      .strict()
      .default({ refresh_interval: 1_000 }),
    immutable_tags: z.array(immutableTagRule).default([]).superRefine(onePerPrefix),
    quotas: z.array(quotaRule).default([]).superRefine(onePerPrefix),
    pulls: z
      .object({
        /** Record when each manifest and tag was last pulled (registry/pull-recorder.ts). */
        track: z.boolean().default(true),
        /** How often the pulls noted in memory are written; a crash loses at most this much. */
        flush_interval: duration.default(5_000).refine((ms) => ms >= 100, 'at least 100ms'),
        /**
         * The secret the edge sends with its reports of the pulls it served (POST /edge/pulls);
         * absent: reports are refused.
         */
        report_secret: z.string().min(16, 'at least 16 characters').optional(),
        /**
         * Entries (manifests, and tags, each) waiting to be written, at most: bounds the memory a
         * database that cannot be written, or a flood of distinct pulls, costs. Beyond, pulls are dropped.
         */
        max_pending: z.number().int().positive().default(1_000_000),
      })
      .strict()
      .default({ track: true, flush_interval: 5_000, max_pending: 1_000_000 }),
    /** Retention rules (origin/retention/); read-only in the admin API. */
    retention: z.array(retentionRuleInput).default([]).superRefine(onePerPrefix),
    webhooks: z
      .object({
        /** Per delivery attempt. */
        timeout: duration.default(10_000),
        /** Attempts before a delivery is recorded as failed; the wait doubles after each (from 1 s). */
        max_attempts: z.number().int().min(1).max(30).default(8),
        initial_backoff: duration.default(1_000),
        /** How often a process looks for deliveries due (its own events are sent at once). */
        poll_interval: duration.default(500),
      })
      .strict()
      .default({ timeout: 10_000, max_attempts: 8, initial_backoff: 1_000, poll_interval: 500 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

type Parsed = z.output<typeof schema>;
export type AccessRule = z.output<typeof accessRule>;
export type ConfigUser = z.output<typeof userEntry>;

export interface Config extends Parsed {
  http: Parsed['http'] & { public_url: string; host: string; port: number };
  storage: Parsed['storage'] & {
    filesystem: { root: string };
    cache: Parsed['storage']['cache'] & { disk_size_bytes: number | undefined };
  };
  auth: Parsed['auth'] & { service: string };
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; message: string };

/** Reads the file (if any), applies REGISTRY_* variables over it, validates, derives defaults. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return { ok: false, message: `cannot read config file ${file}: ${(error as Error).message}` };
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (error) {
      return { ok: false, message: `config file ${file} is not valid YAML: ${(error as Error).message}` };
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      return { ok: false, message: `config file ${file} must hold a mapping of keys` };
    }
  }
  const merged = applyEnvironment(raw as Record<string, unknown>, env);
  if (!merged.ok) return merged;
  const parsed = schema.safeParse(merged.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const issuePath = issue?.path.map(String) ?? [];
    const key = issuePath.join('.') || '(top level)';
    const message =
      issue?.code === 'unrecognized_keys'
        ? `unknown key ${issue.keys.join(', ')}`
        : (issue?.message ?? 'invalid');
    // A value from the environment: say which variable it came from.
    const variable = [...merged.fromEnvironment].find(([keyPath]) =>
      keyPath.every((part, i) => issuePath[i] === part),
    )?.[1];
    return { ok: false, message: `config key ${key}${variable ? ` (from ${variable})` : ''}: ${message}` };
  }
  return { ok: true, config: derive(parsed.data) };
}

function derive(parsed: Parsed): Config {
  const match = /^(.*):(\d+)$/.exec(parsed.http.addr) as RegExpExecArray;
  const host = (match[1] as string).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(match[2]);
  const publicHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const scheme = parsed.http.tls ? 'https' : 'http';
  const public_url = (
    parsed.http.public_url ??
    `${scheme}://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}`
  ).replace(/\/$/, '');
  return {
    ...parsed,
    http: { ...parsed.http, public_url, host, port },
    storage: {
      ...parsed.storage,
      filesystem: { root: parsed.storage.filesystem.root ?? path.join(parsed.data_dir, 'blobs') },
      cache: { ...parsed.storage.cache, disk_size_bytes: diskCacheBytes(parsed.storage.cache) },
    },
    auth: { ...parsed.auth, service: parsed.auth.service ?? new URL(public_url).host },
  };
}

/**
 * The config of a registry bound to `port`. With http.addr's port 0 (any free port, chosen when the
 * server binds) the port is known only then: public_url and auth.service, when derived from
 * http.addr, name the bound port instead of 0. A public URL on port 0 cannot be reached, so one
 * given explicitly is treated alike.
 */
export function withBoundPort(config: Config, port: number): Config {
  if (config.http.port !== 0) return config;
  // http.addr names the port bound too: logs and a second PGlite opener are told where it serves.
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const http = { ...config.http, port, addr: `${host}:${port}` };
  const url = new URL(config.http.public_url);
  if (url.port !== '0') return { ...config, http };
  const derivedService = url.host;
  url.port = String(port);
  const public_url = url.toString().replace(/\/$/, '');
  const service = config.auth.service === derivedService ? url.host : config.auth.service;
  return { ...config, http: { ...http, public_url }, auth: { ...config.auth, service } };
}

function diskCacheBytes(cache: Parsed['storage']['cache']): number | undefined {
  if (!cache.disk_path) return undefined;
  if (cache.disk_size_gb !== undefined) return Math.floor(cache.disk_size_gb * 1024 * MiB);
  return Math.floor((cache.disk_size_mb as number) * MiB);
}

/**
 * REGISTRY_* variables that belong to other programs: podman, skopeo and buildah read their
 * credentials file from REGISTRY_AUTH_FILE (containers-auth.json(5)).
 */
const FOREIGN_VARIABLES: ReadonlySet<string> = new Set(['REGISTRY_AUTH_FILE']);

/** The variable of each leaf: REGISTRY_ + the key path in capitals, joined by `_`. */
function environmentNames(): Map<string, string[]> {
  return new Map(
    leafPaths(schema).map((keyPath) => [`REGISTRY_${keyPath.join('_').toUpperCase()}`, keyPath]),
  );
}

// Every leaf of the schema can be set as REGISTRY_<PATH>; values are YAML scalars (or JSON for lists).
// Any other REGISTRY_* variable is a mistake (a typo would otherwise be ignored) and stops startup.
function applyEnvironment(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
):
  | { ok: true; value: Record<string, unknown>; fromEnvironment: Map<string[], string> }
  | { ok: false; message: string } {
  const names = environmentNames();
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith('REGISTRY_') && !names.has(name) && !FOREIGN_VARIABLES.has(name))
    .sort();
  if (unknown.length > 0) {
    const name = unknown[0] as string;
    const near = closest(name, [...names.keys()]);
    return {
      ok: false,
      message:
        `environment variable ${name} is not a config key` +
        (near ? ` (did you mean ${near}?)` : ' (REGISTRY_ followed by a key path, e.g. REGISTRY_HTTP_ADDR)'),
    };
  }
  const result = structuredClone(raw);
  const fromEnvironment = new Map<string[], string>();
  for (const [name, keyPath] of names) {
    const value = env[name];
    if (value === undefined) continue;
    let parsedValue: unknown = value;
    // A string key takes the value as it is: as YAML, "[::1]:5000" would be a list, "true" a boolean.
    if (leafType(keyPath) !== 'string') {
      try {
        parsedValue = parseYaml(value);
      } catch {
        return { ok: false, message: `environment variable ${name} cannot be parsed` };
      }
    }
    let node = result;
    for (const key of keyPath.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[keyPath[keyPath.length - 1] as string] = parsedValue;
    fromEnvironment.set(keyPath, name);
  }
  return { ok: true, value: result, fromEnvironment };
}

/** The name among `names` nearest to `name` (at most 3 edits away), for a typo. */
function closest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of names) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function leafPaths(type: z.ZodType, prefix: string[] = []): string[][] {
  const inner = unwrap(type);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape).flatMap(([key, child]) =>
      leafPaths(child as z.ZodType, [...prefix, key]),
    );
  }
  return [prefix];
}

/** The zod type name (string, number, enum, …) of the schema's leaf at `keyPath`. */
function leafType(keyPath: readonly string[]): string {
  let node: z.ZodType = schema;
  for (const key of keyPath) node = (unwrap(node) as z.ZodObject).shape[key] as z.ZodType;
  return (unwrap(node)._zod.def as { type: string }).type;
}

function unwrap(type: z.ZodType): z.ZodType {
  let current = type;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if ((def.type === 'default' || def.type === 'optional') && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}
