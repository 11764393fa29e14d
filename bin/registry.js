#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4
// The package's `registry` command (what `npm link` puts on the PATH). The sources are TypeScript,
// run by the type stripping of Node 24; this file is plain JavaScript so that any Node that runs
// npm can start it. Under an older Node it runs itself again under the project's own Node 24 (the
// `node` devDependency, node_modules/.bin/node), with the glibc mmap threshold and the 4 MiB
// young-generation semi-space that the shebang gives a direct start (README, Operations).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NEEDED_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);

if (major >= NEEDED_MAJOR) {
  const { main } = await import('../origin/cli.ts');
  await main(process.argv.slice(2));
} else {
  const node = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (!existsSync(node)) {
    process.stderr.write(
      `registry: needs Node ${NEEDED_MAJOR} (this is ${process.version}), and the project's own Node ` +
        `(${node}) is not installed: run npm install in ${fileURLToPath(new URL('..', import.meta.url))}\n`,
    );
    process.exit(2);
  }
  const child = spawn(
    node,
    ['--max-semi-space-size=4', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' } },
  );
  // A terminal's Ctrl-C reaches both processes (one process group); a SIGTERM or SIGHUP sent to
  // this one alone is passed on. Either way this process waits for the registry to stop.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.once('error', (error) => {
    process.stderr.write(`registry: cannot start ${node}: ${error.message}\n`);
    process.exit(2);
  });
  child.once('exit', (code, signal) => {
    if (code !== null) process.exit(code);
    // Ended by a signal: end the same way, so that whoever started this sees it.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  });
}
