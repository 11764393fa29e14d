// What `registry gc` and gc.schedule refuse before anything is opened: the command line's usage,
// and a schedule that is no cron expression. No database, store or cache is involved, so these run
// once (unit project); what GC does to a registry is gc.test.ts.
import { describe, expect, test } from 'vitest';
import { runCli } from './harness/cli.ts';

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

describe('registry gc (CLI)', () => {
  test('needs exactly one of --dry-run and --delete; --help explains', async () => {
    for (const args of [['gc'], ['gc', '--dry-run', '--delete']]) {
      const run = await cli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^registry: gc needs exactly one of --dry-run and --delete\n/);
    }
    const help = await cli(['gc', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /^Usage: registry gc \(--dry-run \| --delete\) \[--untagged\] \[--grace-period DURATION\] \[--config FILE\]/,
    );
    const unknown = await cli(['gc', '--dry-run', '--everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--everything'");
  });
});

describe('gc.schedule', () => {
  test('a bad cron expression stops startup with a message naming gc.schedule', async () => {
    const run = await cli(['serve'], {
      REGISTRY_GC_SCHEDULE: 'every day at noon',
      REGISTRY_HTTP_ADDR: '127.0.0.1:0',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^registry: config key gc\.schedule \(from REGISTRY_GC_SCHEDULE\): "every day at noon" is not a cron expression/,
    );
  });
});
