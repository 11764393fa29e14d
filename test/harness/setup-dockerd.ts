// Global setup of the project whose files drive the Docker CLI: holds a lease on the end-to-end
// tests' Docker engine for the whole run (it starts only if a test needs it), so that it stays up
// between test files and is stopped when the run ends.
import { holdDockerdForRun } from './dockerd.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const dockerd = await holdDockerdForRun();
  return () => dockerd.release();
}
