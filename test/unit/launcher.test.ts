// The installed `registry` command (bin/registry.js, what `npm link` puts on the PATH) works under
// any Node that runs npm: the system's Node 20 here, which cannot run the TypeScript sources itself;
// and the README and package.json say the same about the Node a user needs.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { run } from '../harness/tools.ts';

/** The Node of the machine (Debian's nodejs), older than the project's own. */
const SYSTEM_NODE = '/usr/bin/node';
const PROJECT_NODE = path.resolve('node_modules/.bin/node');
const LAUNCHER = path.resolve('bin/registry.js');

/** The launcher run by the system's Node, as `registry` on the PATH is when that Node is first. */
async function launched(args: string[]) {
  expect(existsSync(SYSTEM_NODE), `${SYSTEM_NODE} (apt-get install nodejs)`).toBe(true);
  return run(SYSTEM_NODE, [LAUNCHER, ...args], { timeoutMs: 60_000 });
}

describe('bin/registry.js', () => {
  test("run by the system's Node, it prints the help, under the project's Node 24", async () => {
    const project = await run(PROJECT_NODE, ['--version']);
    const [help, version] = await Promise.all([launched(['--help']), launched(['--version'])]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: registry <command> \[options\]/);
    expect(version.code, version.stderr).toBe(0);
    // The sources ran on the project's Node, whatever started the launcher.
    expect(version.stdout).toMatch(new RegExp(`^registry \\S+ \\(Node ${project.stdout.trim()}\\)\\n$`));
    expect(Number(project.stdout.trim().slice(1).split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  test('passes on the exit status: no command is a usage error (2), with the help on stderr', async () => {
    const bare = await launched([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^registry: a command is needed\n\nUsage: registry <command>/);
  });
});

describe('the Node a user needs', () => {
  test('package.json engines and the README name the same Node version', () => {
    const { engines } = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
    const readme = readFileSync('README.md', 'utf8');
    const needed = /^Node ≥ (\d+) and npm/m.exec(readme)?.[1];
    expect(needed, 'the README says "Node ≥ N and npm"').toBeDefined();
    expect(engines.node).toBe(`>=${needed}`);
  });
});
