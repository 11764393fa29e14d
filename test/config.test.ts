// The configuration (one YAML file, every key also settable as REGISTRY_<KEY_PATH>) and the
// `registry` command line: what is accepted, and that what is not is refused with one clear
// message naming the key.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Config, loadConfig, withBoundPort } from '../origin/config.ts';
import { runCli } from './harness/cli.ts';
import { run } from './harness/tools.ts';

/** The version of the Node the CLI runs on (the project's own). */
const nodeVersion = async () =>
  (await run(path.resolve('node_modules/.bin/node'), ['--version'])).stdout.trim();

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'registry-config-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
async function configFile(text: string): Promise<string> {
  const file = path.join(dir, `config-${++files}.yaml`);
  await writeFile(file, text);
  return file;
}

function loaded(file: string | undefined, env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig(file, env);
  if (!result.ok) throw new Error(`expected the config to load: ${result.message}`);
  return result.config;
}

function refused(file: string | undefined, env: NodeJS.ProcessEnv = {}): string {
  const result = loadConfig(file, env);
  if (result.ok) throw new Error('expected the config to be refused');
  return result.message;
}

describe('loadConfig', () => {
  test('without a file or variables it derives the documented defaults', () => {
    const config = loaded(undefined);
    expect(config.http).toMatchObject({
      addr: '127.0.0.1:5000',
      host: '127.0.0.1',
      port: 5000,
      public_url: 'http://127.0.0.1:5000',
      shutdown_timeout: 30_000,
    });
    expect(config.data_dir).toBe('./data');
    expect(config.storage.filesystem.root).toBe(path.join('./data', 'blobs'));
    expect(config.database.url).toBeUndefined();
    expect(config.database.pool_size).toBe(10);
    expect(config.auth).toMatchObject({
      service: '127.0.0.1:5000',
      issuer: 'registry',
      token_expiry: 300_000,
    });
    expect(config.auth.access).toBeUndefined();
    expect(config.auth.login_throttle).toEqual({ max_failures: 10, window: 60_000 });
    expect(config.auth.password_checks).toEqual({ threads: 1, queue: 32 });
    expect(config.uploads).toEqual({
      expiry: 3_600_000,
      purge_interval: 60_000,
      max_sessions_per_user: 1000,
    });
    expect(config.scan.vulndb_dir).toBeUndefined();
    expect(config.scan.vulndb_upload_max).toBe(1024 * 1024 * 1024);
    expect(config.log.level).toBe('info');
  });

  test('the file sets nested keys, and the derived values follow them', async () => {
    const file = await configFile(
      [
        'data_dir: /srv/registry',
        'http:',
        '  addr: 0.0.0.0:6000',
        'auth:',
        '  service: registry.example',
        'log:',
        '  level: warn',
      ].join('\n'),
    );
    const config = loaded(file);
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 6000, public_url: 'http://127.0.0.1:6000' });
    expect(config.storage.filesystem.root).toBe('/srv/registry/blobs');
    expect(config.auth.service).toBe('registry.example');
    expect(config.log.level).toBe('warn');
  });

  test('REGISTRY_* variables override nested keys of the file and leave the others', async () => {
    const file = await configFile(
      [
        'http:',
        '  addr: 127.0.0.1:6000',
        '  public_url: https://registry.example/',
        'database:',
        '  pool_size: 3',
        'log:',
        '  level: warn',
      ].join('\n'),
    );
    const config = loaded(file, {
      REGISTRY_HTTP_ADDR: '127.0.0.1:7000',
      REGISTRY_DATABASE_POOL_SIZE: '7',
      REGISTRY_DATABASE_URL: 'postgres://db.example/registry',
      REGISTRY_AUTH_TOKEN_EXPIRY: '90s',
      REGISTRY_AUTH_ACCESS: '[{"prefix": "public/", "anonymous": true, "actions": ["pull"]}]',
      REGISTRY_UPLOADS_EXPIRY: '2h',
      UNRELATED_VARIABLE: 'ignored',
    });
    expect(config.http.port).toBe(7000);
    // The file's other keys of the same object stay.
    expect(config.http.public_url).toBe('https://registry.example');
    expect(config.auth.service).toBe('registry.example');
    expect(config.database).toEqual({ url: 'postgres://db.example/registry', pool_size: 7 });
    expect(config.auth.token_expiry).toBe(90_000);
    expect(config.auth.access).toEqual([
      { prefix: 'public/', users: [], anonymous: true, actions: ['pull'] },
    ]);
    expect(config.uploads.expiry).toBe(7_200_000);
    expect(config.log.level).toBe('warn');
  });

  test('a variable that is not valid YAML/JSON is refused naming the variable', () => {
    expect(refused(undefined, { REGISTRY_AUTH_ACCESS: '[{"prefix": ' })).toBe(
      'environment variable REGISTRY_AUTH_ACCESS cannot be parsed',
    );
  });

  test('string keys take their variable literally, where YAML would read a list or a boolean', () => {
    const config = loaded(undefined, {
      REGISTRY_HTTP_ADDR: '[::1]:5001',
      REGISTRY_AUTH_ISSUER: 'true',
      REGISTRY_AUTH_SERVICE: '12345',
      REGISTRY_DATA_DIR: '/srv/data: with a colon',
      REGISTRY_HTTP_PUBLIC_URL: 'https://[2001:db8::1]:8443',
    });
    expect(config.http).toMatchObject({ host: '::1', port: 5001, public_url: 'https://[2001:db8::1]:8443' });
    expect(config.auth.issuer).toBe('true');
    expect(config.auth.service).toBe('12345');
    expect(config.data_dir).toBe('/srv/data: with a colon');
  });

  test('a variable of the wrong type is refused naming the key and the variable it came from', async () => {
    expect(refused(undefined, { REGISTRY_DATABASE_POOL_SIZE: 'many' })).toMatch(
      /^config key database\.pool_size \(from REGISTRY_DATABASE_POOL_SIZE\): /,
    );
    // The variable overrides a good value of the file: the variable is named.
    const file = await configFile('uploads:\n  expiry: 1h\n');
    expect(refused(file, { REGISTRY_UPLOADS_EXPIRY: 'forever' })).toBe(
      'config key uploads.expiry (from REGISTRY_UPLOADS_EXPIRY): "forever" is not a duration (examples: 90s, 30m, 1h)',
    );
    // Deeper than the variable's key (a list given as JSON): still the variable's.
    expect(
      refused(undefined, {
        REGISTRY_AUTH_ACCESS: '[{"prefix": "a/", "actions": ["pull"], "user": ["bob"]}]',
      }),
    ).toBe('config key auth.access.0 (from REGISTRY_AUTH_ACCESS): unknown key user');
    // A bad value in the file, with unrelated variables set: no variable is named.
    expect(refused(await configFile('uploads:\n  expiry: forever\n'), { REGISTRY_LOG_LEVEL: 'warn' })).toBe(
      'config key uploads.expiry: "forever" is not a duration (examples: 90s, 30m, 1h)',
    );
  });

  test('a REGISTRY_* variable that names no key stops startup, naming it (and the key it resembles)', () => {
    expect(refused(undefined, { REGISTRY_HTTP_ADR: '1' })).toBe(
      'environment variable REGISTRY_HTTP_ADR is not a config key (did you mean REGISTRY_HTTP_ADDR?)',
    );
    expect(refused(undefined, { REGISTRY_STORAGE_S3_BUCKE: 'b', REGISTRY_HTTP_ADDR: ':5000' })).toBe(
      'environment variable REGISTRY_STORAGE_S3_BUCKE is not a config key (did you mean REGISTRY_STORAGE_S3_BUCKET?)',
    );
    expect(refused(undefined, { REGISTRY_COLOUR: 'blue' })).toBe(
      'environment variable REGISTRY_COLOUR is not a config key (REGISTRY_ followed by a key path, e.g. REGISTRY_HTTP_ADDR)',
    );
    // A parent of keys is no key either: its leaves are.
    expect(refused(undefined, { REGISTRY_HTTP: 'x' })).toMatch(
      /^environment variable REGISTRY_HTTP is not a config key/,
    );
  });

  test("REGISTRY_AUTH_FILE, podman's and skopeo's credentials file, is not the registry's and is left alone", () => {
    expect(loaded(undefined, { REGISTRY_AUTH_FILE: '/run/containers/auth.json' }).auth.issuer).toBe(
      'registry',
    );
  });

  test('durations take ms, s, m, h and d, or a number of seconds', async () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['90s', 90_000],
      ['1.5s', 1_500],
      ['30m', 1_800_000],
      ['1h', 3_600_000],
      ['7d', 604_800_000],
      ['45', 45_000],
      ['0', 0],
    ];
    for (const [value, ms] of cases) {
      const file = await configFile(`uploads:\n  expiry: ${value}\n`);
      expect(loaded(file).uploads.expiry).toBe(ms);
      expect(loaded(undefined, { REGISTRY_HTTP_SHUTDOWN_TIMEOUT: value }).http.shutdown_timeout).toBe(ms);
    }
  });

  test('a malformed duration is refused naming the key and the value', async () => {
    for (const value of ['soon', '10 minutes', '-1s', '5w', '1h30m']) {
      const file = await configFile(`auth:\n  token_expiry: ${value}\n`);
      const message = refused(file);
      expect(message).toMatch(/^config key auth\.token_expiry: /);
      expect(message).toContain('is not a duration');
    }
  });

  test('an unknown key is refused, naming the key and where it is', async () => {
    expect(refused(await configFile('colour: blue\n'))).toBe('config key (top level): unknown key colour');
    expect(refused(await configFile('http:\n  adress: 127.0.0.1:5000\n'))).toBe(
      'config key http: unknown key adress',
    );
    expect(refused(await configFile('auth:\n  login_throttle:\n    max_fail: 3\n'))).toBe(
      'config key auth.login_throttle: unknown key max_fail',
    );
    expect(
      refused(
        await configFile('auth:\n  access:\n    - prefix: a/\n      actions: [pull]\n      user: [bob]\n'),
      ),
    ).toBe('config key auth.access.0: unknown key user');
  });

  test('a bad http.addr is refused naming the key', async () => {
    for (const addr of ['localhost', '127.0.0.1', 'example.com:http', '127.0.0.1:123456', 'a b:80']) {
      const message = refused(await configFile(`http:\n  addr: "${addr}"\n`));
      expect(message).toBe('config key http.addr: expected HOST:PORT, e.g. 127.0.0.1:5000');
    }
    expect(refused(undefined, { REGISTRY_HTTP_ADDR: 'nonsense' })).toMatch(
      /^config key http\.addr \(from REGISTRY_HTTP_ADDR\): /,
    );
  });

  test('a port beyond 65535 is refused naming http.addr', async () => {
    expect(refused(await configFile('http:\n  addr: 127.0.0.1:70000\n'))).toMatch(/^config key http\.addr: /);
  });

  test('HOST:PORT forms that are valid: IPv6, any address, a name', async () => {
    expect(loaded(undefined, { REGISTRY_HTTP_ADDR: '[::1]:5001' }).http).toMatchObject({
      host: '::1',
      port: 5001,
      public_url: 'http://[::1]:5001',
    });
    expect(loaded(undefined, { REGISTRY_HTTP_ADDR: ':5002' }).http).toMatchObject({
      host: '0.0.0.0',
      port: 5002,
    });
    expect(loaded(undefined, { REGISTRY_HTTP_ADDR: 'localhost:5003' }).http.public_url).toBe(
      'http://localhost:5003',
    );
  });

  test('port 0 binds any free port: the public URL and service derived from it name the port bound', () => {
    const any = loaded(undefined, { REGISTRY_HTTP_ADDR: '127.0.0.1:0' });
    expect(any.http).toMatchObject({ port: 0, public_url: 'http://127.0.0.1:0' });
    const bound = withBoundPort(any, 41234);
    expect(bound.http).toMatchObject({
      addr: '127.0.0.1:41234',
      port: 41234,
      public_url: 'http://127.0.0.1:41234',
    });
    expect(bound.auth.service).toBe('127.0.0.1:41234');
    // Given ones are kept (the address names the port bound), and a fixed port changes nothing.
    const given = loaded(undefined, {
      REGISTRY_HTTP_ADDR: '[::1]:0',
      REGISTRY_HTTP_PUBLIC_URL: 'https://registry.example/v',
      REGISTRY_AUTH_SERVICE: 'registry.example',
    });
    expect(withBoundPort(given, 41234)).toEqual({
      ...given,
      http: { ...given.http, addr: '[::1]:41234', port: 41234 },
    });
    const derivedService = loaded(undefined, {
      REGISTRY_HTTP_ADDR: '127.0.0.1:0',
      REGISTRY_AUTH_SERVICE: 'registry.example',
    });
    expect(withBoundPort(derivedService, 41234).auth.service).toBe('registry.example');
    const fixed = loaded(undefined, { REGISTRY_HTTP_ADDR: '127.0.0.1:5000' });
    expect(withBoundPort(fixed, 41234)).toEqual(fixed);
  });

  test('http.tls names a certificate and a key; the derived public URL is then https://', async () => {
    const fromEnvironment = loaded(undefined, {
      REGISTRY_HTTP_ADDR: '127.0.0.1:5443',
      REGISTRY_HTTP_TLS_CERTIFICATE: '/etc/registry/tls.crt',
      REGISTRY_HTTP_TLS_KEY: '/etc/registry/tls.key',
    });
    expect(fromEnvironment.http.tls).toEqual({
      certificate: '/etc/registry/tls.crt',
      key: '/etc/registry/tls.key',
    });
    expect(fromEnvironment.http.public_url).toBe('https://127.0.0.1:5443');
    expect(fromEnvironment.auth.service).toBe('127.0.0.1:5443');
    const anyPort = 'http:\n  addr: 127.0.0.1:0\n  tls:\n    certificate: /c.pem\n    key: /k.pem\n';
    expect(withBoundPort(loaded(await configFile(anyPort)), 41234).http.public_url).toBe(
      'https://127.0.0.1:41234',
    );
    expect(refused(await configFile('http:\n  tls:\n    certificate: /c.pem\n'))).toMatch(
      /^config key http\.tls\.key: /,
    );
    expect(
      refused(await configFile('http:\n  tls:\n    certificate: /c.pem\n    key: /k.pem\n    ca: /ca\n')),
    ).toBe('config key http.tls: unknown key ca');
  });

  test('other invalid values are refused naming their key', async () => {
    const cases: [string, RegExp][] = [
      ['database:\n  url: mysql://db/registry\n', /^config key database\.url: expected a postgres:\/\/ URL$/],
      ['database:\n  pool_size: 0\n', /^config key database\.pool_size: /],
      ['http: 5000\n', /^config key http: /],
      ['http:\n  public_url: not a url\n', /^config key http\.public_url: /],
      ['log:\n  level: loud\n', /^config key log\.level: /],
      ['storage:\n  backend: gcs\n', /^config key storage\.backend: /],
      ['storage:\n  backend: s3\n', /^config key storage\.s3: required when storage\.backend is s3$/],
      ['storage:\n  cache:\n    type: redis\n', /^config key storage\.cache\.redis_url: required/],
      ['storage:\n  cache:\n    disk_path: /tmp/x\n', /^config key storage\.cache\.disk_size_gb: required/],
      [
        'storage:\n  backend: s3\n  s3:\n    bucket: my-bucket\n    part_size: 1MiB\n',
        /^config key storage\.s3\.part_size: /,
      ],
      [
        'auth:\n  access:\n    - prefix: a/\n      actions: [write]\n',
        /^config key auth\.access\.0\.actions\.0: /,
      ],
      ['auth:\n  users:\n    - name: bob\n', /^config key auth\.users\.0\.password_hash: /],
      // Sizes: a whole number of bytes from 1 to Number.MAX_SAFE_INTEGER, as numbers and as strings.
      ['quotas:\n  - prefix: a/\n    limit: 0B\n', /^config key quotas\.0\.limit: "0B" is less than 1 byte$/],
      [
        'quotas:\n  - prefix: a/\n    limit: 0.4B\n',
        /^config key quotas\.0\.limit: "0\.4B" is not a whole number of bytes$/,
      ],
      [
        'quotas:\n  - prefix: a/\n    limit: 99999999999TB\n',
        /^config key quotas\.0\.limit: "99999999999TB" is more than 9007199254740991 bytes$/,
      ],
      ['quotas:\n  - prefix: a/\n    limit: 0\n', /^config key quotas\.0\.limit: /],
      ['quotas:\n  - prefix: a/\n    limit: 9007199254740992\n', /^config key quotas\.0\.limit: /],
      ['pulls:\n  max_pending: 0\n', /^config key pulls\.max_pending: /],
    ];
    for (const [text, pattern] of cases) expect(refused(await configFile(text))).toMatch(pattern);
  });

  test('immutable_tags: rules of a prefix and tag patterns, from the file or REGISTRY_IMMUTABLE_TAGS as JSON', async () => {
    expect(loaded(undefined).immutable_tags).toEqual([]);
    const file = await configFile(
      'immutable_tags:\n  - prefix: prod/\n    tags: ["v*", "release-?"]\n  - tags: []\n',
    );
    expect(loaded(file).immutable_tags).toEqual([
      { prefix: 'prod/', tags: ['v*', 'release-?'] },
      { prefix: '', tags: [] },
    ]);
    const env = { REGISTRY_IMMUTABLE_TAGS: '[{"prefix": "ci/", "tags": ["*"]}]' };
    expect(loaded(undefined, env).immutable_tags).toEqual([{ prefix: 'ci/', tags: ['*'] }]);
    const cases: [string, RegExp][] = [
      [
        'immutable_tags:\n  - prefix: a/\n    tags: ["v/1"]\n',
        /^config key immutable_tags\.0\.tags\.0: a tag pattern /,
      ],
      ['immutable_tags:\n  - prefix: a/\n', /^config key immutable_tags\.0\.tags: /],
      [
        'immutable_tags:\n  - {prefix: a/, tags: [v*]}\n  - {prefix: a/, tags: []}\n',
        /^config key immutable_tags\.1\.prefix: prefix "a\/" has two rules$/,
      ],
    ];
    for (const [text, pattern] of cases) expect(refused(await configFile(text))).toMatch(pattern);
  });

  test('retention: rules of a prefix, durations in ms; a rule that removes nothing or a bad duration is refused', async () => {
    expect(loaded(undefined).retention).toEqual([]);
    const file = await configFile(
      'retention:\n  - prefix: ci/\n    keep_last: 10\n    remove_older_than: 30d\n    only_tags: ["ci-*"]\n',
    );
    expect(loaded(file).retention).toEqual([
      {
        prefix: 'ci/',
        keepLast: 10,
        keepPulledWithinMs: null,
        removeOlderThanMs: 30 * 86_400_000,
        keepTags: [],
        onlyTags: ['ci-*'],
        untaggedOlderThanMs: null,
      },
    ]);
    const cases: [string, RegExp][] = [
      [
        'retention:\n  - prefix: a/\n    keep_pulled_within: 7d\n',
        /^config key retention\.0: a rule removes nothing without keep_last, remove_older_than or untagged_older_than/,
      ],
      [
        'retention:\n  - prefix: a/\n    remove_older_than: 30 days\n',
        /^config key retention\.0\.remove_older_than: "30 days" is not a positive duration/,
      ],
      [
        'retention:\n  - {prefix: a/, keep_last: 1}\n  - {prefix: a/, keep_last: 2}\n',
        /^config key retention\.1\.prefix: prefix "a\/" has two rules$/,
      ],
    ];
    for (const [text, pattern] of cases) expect(refused(await configFile(text))).toMatch(pattern);
  });

  test('a missing, unparsable or non-mapping file is refused naming the file', async () => {
    const missing = path.join(dir, 'does-not-exist.yaml');
    expect(refused(missing)).toMatch(new RegExp(`^cannot read config file ${missing}: `));
    const broken = await configFile('http: [unclosed\n');
    expect(refused(broken)).toMatch(new RegExp(`^config file ${broken} is not valid YAML: `));
    const list = await configFile('- a\n- b\n');
    expect(refused(list)).toBe(`config file ${list} must hold a mapping of keys`);
  });

  test('an empty file means the defaults', async () => {
    expect(loaded(await configFile('')).http.addr).toBe('127.0.0.1:5000');
  });
});

/** Runs the `registry` CLI with no REGISTRY_* variables but those given. */
const registry = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { env, timeoutMs: 20_000 });

describe('the registry command', () => {
  test('`registry serve --config bad.yaml` exits non-zero with one line naming the key', async () => {
    const file = await configFile('http:\n  addr: nowhere\n');
    const run = await registry(['serve', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('registry: config key http.addr: expected HOST:PORT, e.g. 127.0.0.1:5000\n');
  });

  test('`registry serve` refuses an unknown key and a bad variable the same way', async () => {
    const [unknown, variable] = await Promise.all([
      registry(['serve', '-c', await configFile('storage:\n  bucket: x\n')]),
      registry(['serve'], {
        REGISTRY_UPLOADS_EXPIRY: 'forever',
        REGISTRY_DATA_DIR: path.join(dir, 'unused'),
      }),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('registry: config key storage: unknown key bucket\n');
    expect(variable.code).toBe(2);
    expect(variable.stderr).toBe(
      'registry: config key uploads.expiry (from REGISTRY_UPLOADS_EXPIRY): "forever" is not a duration (examples: 90s, 30m, 1h)\n',
    );
  });

  test('`registry serve` with a mistyped variable (REGISTRY_HTTP_ADR) exits 2 naming it, before opening anything', async () => {
    const dataDir = path.join(dir, 'typo-data');
    const run = await registry(['serve'], { REGISTRY_HTTP_ADR: '1', REGISTRY_DATA_DIR: dataDir });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'registry: environment variable REGISTRY_HTTP_ADR is not a config key (did you mean REGISTRY_HTTP_ADDR?)\n',
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  test('`registry serve` with a port beyond 65535 names http.addr', async () => {
    const run = await registry(['serve', '--config', await configFile('http:\n  addr: 127.0.0.1:70000\n')]);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^registry: config key http\.addr: /);
  });

  test('`registry serve --config` with a missing file names the file', async () => {
    const missing = path.join(dir, 'missing.yaml');
    const run = await registry(['serve', '--config', missing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read config file ${missing}`);
  });

  test('--help on registry, registry serve and registry user add exits 0 and prints usage', async () => {
    const [top, short, serve, userAdd, user] = await Promise.all([
      registry(['--help']),
      registry(['-h']),
      registry(['serve', '--help']),
      registry(['user', 'add', '--help']),
      registry(['user', '--help']),
    ]);
    for (const run of [top, short]) {
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^Usage: registry <command> \[options\]/);
      expect(run.stdout).toContain('serve');
      expect(run.stdout).toContain('user add');
    }
    expect(serve.code).toBe(0);
    expect(serve.stdout).toMatch(/^Usage: registry serve \[--config FILE\]/);
    expect(serve.stdout).toContain('--help');
    for (const run of [userAdd, user]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: registry user add NAME/);
      expect(run.stdout).toContain('--password-stdin');
    }
  });

  test('`registry` with no command prints the help on stderr and exits 2', async () => {
    const bare = await registry([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^registry: a command is needed\n\nUsage: registry <command> \[options\]/);
  });

  test('`registry --version` (and -V) prints the version and the Node it runs on', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    for (const run of await Promise.all([registry(['--version']), registry(['-V'])])) {
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(`registry ${version} (Node ${await nodeVersion()})\n`);
    }
  });

  test("the top-level help lists every command with all its flags, as the command's own help does", async () => {
    const commands = [['serve'], ['gc'], ['scan'], ['vulndb'], ['user', 'add']];
    const [top, ...helps] = await Promise.all([
      registry(['--help']),
      ...commands.map((command) => registry([...command, '--help'])),
    ]);
    for (const [i, help] of helps.entries()) {
      expect(help.code, commands[i]?.join(' ')).toBe(0);
      const usage = /^Usage: registry (.+)$/m.exec(help.stdout)?.[1] ?? '';
      expect(usage, help.stdout).toMatch(new RegExp(`^${commands[i]?.join(' ')}\\b`));
      expect(top.stdout).toContain(`\n  ${usage}`);
      // Every option the command's help explains (but --help) is in its usage line.
      const flags = [...help.stdout.matchAll(/^ +(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1] as string);
      for (const flag of flags.filter((f) => f !== '--help')) expect(usage, flag).toContain(flag);
    }
  });

  test('an unknown command or option exits non-zero and says what was wrong', async () => {
    const [command, option, subcommand] = await Promise.all([
      registry(['frobnicate']),
      registry(['serve', '--bogus']),
      registry(['user', 'remove', 'bob']),
    ]);
    expect(command.code).not.toBe(0);
    expect(command.stdout).toBe('');
    expect(command.stderr).toContain('unknown command "frobnicate"');
    expect(command.stderr).toContain('Usage: registry');
    expect(option.code).not.toBe(0);
    expect(option.stderr).toContain('--bogus');
    expect(subcommand.code).not.toBe(0);
    expect(subcommand.stderr).toContain('unknown command "user remove bob"');
  });

  test('`registry user add` without a name exits non-zero with its usage', async () => {
    const run = await registry(['user', 'add']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('user add takes one NAME');
    expect(run.stderr).toContain('Usage: registry user add');
  });
});

describe('the seed configuration', () => {
  test('is accepted exactly as written: S3 storage, Redis cache, a 50 GB disk cache', async () => {
    const dir = await mkdtemp(`${tmpdir()}/seed-config-`);
    const file = `${dir}/config.yaml`;
    await writeFile(
      file,
      [
        'storage:',
        '  backend: s3',
        '  s3:',
        '    bucket: my-registry',
        '    region: us-east-1',
        '    prefix: registry/',
        '  cache:',
        '    type: redis',
        '    redis_url: redis://localhost:6379',
        '    disk_path: /var/cache/registry',
        '    disk_size_gb: 50',
        '',
      ].join('\n'),
    );
    const result = loadConfig(file, {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.storage.backend).toBe('s3');
    expect(result.config.storage.s3).toMatchObject({
      bucket: 'my-registry',
      region: 'us-east-1',
      prefix: 'registry/',
    });
    expect(result.config.storage.cache).toMatchObject({ type: 'redis', disk_path: '/var/cache/registry' });
    expect(result.config.storage.cache.disk_size_bytes).toBe(50 * 1024 ** 3);
  });
});
