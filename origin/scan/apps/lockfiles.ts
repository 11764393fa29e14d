// What the lockfile parsers share: where a lockfile belongs to a project rather than ships inside
// an installed package, and reading JSON without letting a malformed file throw.

// Installed packages carry their authors' lockfiles and requirement files (a gem's Gemfile.lock,
// a wheel's requirements.txt, a Composer package's composer.lock): those say what the package's
// developers tested with, not what the image runs.
const PACKAGE_DIRS = /(?:^|\/)(?:site-packages|dist-packages|node_modules|vendor|gems\/[^/]+)\//;

export function insidePackage(path: string): boolean {
  return PACKAGE_DIRS.test(path);
}

export type JsonRead = { ok: true; value: unknown } | { ok: false; warning: string };

export function readJson(path: string, content: Uint8Array): JsonRead {
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(content)) };
  } catch (error) {
    return { ok: false, warning: `${path}: not JSON: ${(error as Error).message}` };
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string of at most `max` characters, else undefined. */
export function shortString(value: unknown, max = 256): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= max ? value : undefined;
}
