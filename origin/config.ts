// The registry's configuration: one YAML file, every key also settable by environment variable
// (`REGISTRY_` + the key path in capitals, e.g. REGISTRY_HTTP_ADDR, REGISTRY_DATABASE_URL).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDurationMs } from './duration.ts';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (examples: 90s, 30m, 1h)` });
    return z.NEVER;
  }
  return ms;
});

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
    name: z.string().min(1),
    password_hash: z.string().min(1),
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
        backend: z.enum(['filesystem']).default('filesystem'),
        filesystem: z.object({ root: z.string().optional() }).strict().default({}),
      })
      .strict()
      .default({ backend: 'filesystem', filesystem: {} }),
    uploads: z
      .object({
        expiry: duration.default(3_600_000),
        purge_interval: duration.default(60_000),
      })
      .strict()
      .default({ expiry: 3_600_000, purge_interval: 60_000 }),
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
        users: z.array(userEntry).default([]),
        access: z.array(accessRule).optional(),
      })
      .strict()
      .default({
        issuer: 'registry',
        token_expiry: 300_000,
        login_throttle: { max_failures: 10, window: 60_000 },
        users: [],
      }),
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
  storage: Parsed['storage'] & { filesystem: { root: string } };
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
    const key = issue?.path.join('.') || '(top level)';
    const message =
      issue?.code === 'unrecognized_keys'
        ? `unknown key ${issue.keys.join(', ')}`
        : (issue?.message ?? 'invalid');
    return { ok: false, message: `config key ${key}: ${message}` };
  }
  return { ok: true, config: derive(parsed.data) };
}

function derive(parsed: Parsed): Config {
  const match = /^(.*):(\d+)$/.exec(parsed.http.addr) as RegExpExecArray;
  const host = (match[1] as string).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(match[2]);
  const publicHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const public_url = (
    parsed.http.public_url ?? `http://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}`
  ).replace(/\/$/, '');
  return {
    ...parsed,
    http: { ...parsed.http, public_url, host, port },
    storage: {
      ...parsed.storage,
      filesystem: { root: parsed.storage.filesystem.root ?? path.join(parsed.data_dir, 'blobs') },
    },
    auth: { ...parsed.auth, service: parsed.auth.service ?? new URL(public_url).host },
  };
}

// Every leaf of the schema can be set as REGISTRY_<PATH>; values are YAML scalars (or JSON for lists).
function applyEnvironment(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  const result = structuredClone(raw);
  for (const keyPath of leafPaths(schema)) {
    const name = `REGISTRY_${keyPath.join('_').toUpperCase()}`;
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
  }
  return { ok: true, value: result };
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
