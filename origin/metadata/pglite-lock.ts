// One process at a time on a PGlite data directory. PGlite is PostgreSQL without its postmaster:
// a second process opens the same directory without complaint (tried: `registry gc` against the
// directory of a serving registry ran as if alone), and each then writes back its own view of the
// files. So whoever opens it (`registry serve`, `gc`, `scan`, `vulndb import`, `user add`) first
// takes a lock file naming itself, and a second opener is refused with that name.
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

const LOCK_FILE = 'pglite.lock';

interface LockRecord {
  readonly holder: string;
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly token: string;
}

/** The data directory is held by another live process. */
export class DataDirInUseError extends Error {}

/**
 * Takes `{dataDir}/pglite.lock` for `holder` (e.g. "registry serve on 127.0.0.1:5000"); returns
 * its release. Throws DataDirInUseError naming the process that holds it. A lock left by a process
 * that is gone (or by an earlier life of this pid, as in a restarted container) is taken over.
 */
export function lockDataDir(dataDir: string, holder: string): () => void {
  const file = path.join(dataDir, LOCK_FILE);
  const record: LockRecord = {
    holder,
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  // Written whole beside the lock, then linked to its name: link fails if the lock exists, and a
  // reader never sees half a record.
  const draft = `${file}.${record.token}`;
  writeFileSync(draft, `${JSON.stringify(record)}\n`);
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      }
      const current = readRecord(file);
      if (current && holds(current)) {
        throw new DataDirInUseError(
          `the PGlite database in ${dataDir} is in use by ${current.holder} (pid ${current.pid} on ` +
            `${current.host}, since ${current.since}); PGlite serves one process at a time: stop it ` +
            'first, or use the running registry (POST /admin/gc, POST /admin/vulndb/import, ' +
            `POST /v2/NAME/manifests/REF/scan). If no such process runs, remove ${file}.`,
        );
      }
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(draft, { force: true });
  }
  return () => {
    // Only our own lock: one taken over after this process was thought gone is not ours to remove.
    if (readRecord(file)?.token === record.token) unlinkSync(file);
  };
}

function readRecord(file: string): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockRecord;
  } catch {
    return undefined;
  }
}

/** Whether the process a lock names still runs (one on another host is taken to). */
function holds(lock: LockRecord): boolean {
  if (lock.host !== hostname()) return true;
  if (lock.pid === process.pid) return false;
  try {
    process.kill(lock.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
