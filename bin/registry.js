#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4
// The package's `registry` command; the sources are TypeScript run by Node 24's type stripping.
// The glibc mmap threshold and a 4 MiB young-generation semi-space keep the RSS low (README, Operations).
import { main } from '../origin/cli.ts';

await main(process.argv.slice(2));
