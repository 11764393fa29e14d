// Paths of tar entries, made into the one form the scanner compares: relative to the image root,
// forward slashes, no "", "." or ".." segments. Nothing here touches the filesystem, and nothing
// in the scanner ever writes a file under a name taken from a tar.
//
// ".." is clamped, not rejected: it is resolved lexically and stops at the root, so
// "../../etc/passwd" and "/etc/passwd" both become "etc/passwd". That is how containerd resolves
// a layer entry inside its root (fs.RootPath), so the scanner sees the file where a runtime
// would have put it rather than losing it; nothing can name a path outside the root.

/** The normalised form of a tar entry's path; "" for the root itself. */
export function normalisePath(raw: string): string {
  const out: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return out.join('/');
}

/** The directory part of a normalised path; "" for a top-level name. */
export function dirname(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The last segment of a normalised path. */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a normalised directory ("" for the root) and a name, normalising the result. */
export function joinPath(dir: string, name: string): string {
  return normalisePath(dir === '' ? name : `${dir}/${name}`);
}

/** True when `path` is `dir` or lies below it; "" is the root and contains everything. */
export function isAtOrBelow(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

/**
 * Where a symlink at `linkPath` points, normalised: a relative target is resolved against the
 * link's directory, an absolute one against the image root (a container's root is the image's).
 * Lexically: symlinked directories along the way are followed by whoever resolves the result.
 * Undefined for an empty target, which points nowhere.
 */
export function symlinkTarget(linkPath: string, linkname: string): string | undefined {
  if (linkname === '') return undefined;
  return linkname.startsWith('/') ? normalisePath(linkname) : joinPath(dirname(linkPath), linkname);
}
