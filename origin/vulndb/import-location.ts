// Where POST /admin/vulndb/import may read: only under scan.vulndb_dir. The API is no way to read
// the origin's files (the CLI, run in the operator's own shell, reads any path it can). Symlinks
// are resolved before the check, so a link under the directory leads nowhere outside it.
import { realpath } from 'node:fs/promises';
import path from 'node:path';

export type ImportLocation = { ok: true; path: string } | { ok: false; problem: 'outside' | 'missing' };

/** `requested` (relative to `dir`, or absolute) as a real path under `dir`. */
export async function importLocation(dir: string, requested: string): Promise<ImportLocation> {
  let root: string;
  try {
    root = await realpath(dir);
  } catch {
    return { ok: false, problem: 'missing' };
  }
  // Named outside the directory (as configured, or as its real path): refused before anything
  // there is looked at, not even whether it exists.
  const named = path.resolve(dir, requested);
  if (!within(path.resolve(dir), named) && !within(root, named)) return { ok: false, problem: 'outside' };
  let real: string;
  try {
    real = await realpath(named);
  } catch {
    return { ok: false, problem: 'missing' };
  }
  return within(root, real) ? { ok: true, path: real } : { ok: false, problem: 'outside' };
}

function within(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return (
    relative === '' ||
    (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}
