#!/usr/bin/env node
// The package's `registry` command; the sources are TypeScript run by Node 24's type stripping.
import { main } from '../origin/cli.ts';

await main(process.argv.slice(2));
