// The `registry` command run as a user runs it, in its own process, with no REGISTRY_* variables
// from the test's environment but those given.
import path from 'node:path';
import { type RunResult, run } from './tools.ts';

const NODE = path.resolve('node_modules/.bin/node');

export interface CliOptions {
  env?: Record<string, string>;
  /** Written to standard input (e.g. a password). */
  input?: string;
  timeoutMs?: number;
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<RunResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')),
  );
  return run(NODE, ['origin/cli.ts', ...args], {
    // No source fetched unless the test names one (`registry serve` would fetch osv.dev's).
    env: { ...inherited, REGISTRY_SCAN_SOURCES: '[]', ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}
