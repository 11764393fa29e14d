// Maps a `/v2/...` path onto the API endpoint it names. Repository names contain slashes, so
// the endpoint is recognised from the end of the path, and whatever precedes it is the name.

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'manifest-scan'; name: string; reference: string }
  | { kind: 'scan-summary'; name: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uploadId: string }
  | { kind: 'referrers'; name: string; digest: string };

export type RouteKind = Route['kind'];

/** Returns null for a path that is not an API endpoint (404 NOT FOUND, not an OCI error). */
export function matchRoute(pathname: string): Route | null {
  if (pathname === '/v2' || pathname === '/v2/') return { kind: 'base' };
  if (!pathname.startsWith('/v2/')) return null;
  const rest = pathname.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  const parts = rest.split('/');
  const n = parts.length;
  const at = (i: number): string => parts[n - i] ?? '';
  const name = (drop: number): string => parts.slice(0, n - drop).join('/');
  const hasName = (drop: number): boolean => n - drop >= 1;

  if (n >= 4 && at(3) === 'blobs' && at(2) === 'uploads' && at(1) === '')
    return { kind: 'uploads', name: name(3) };
  if (n >= 4 && at(3) === 'blobs' && at(2) === 'uploads')
    return { kind: 'upload', name: name(3), uploadId: at(1) };
  if (n >= 3 && at(2) === 'blobs' && at(1) === 'uploads') return { kind: 'uploads', name: name(2) };
  if (hasName(2) && at(2) === 'tags' && at(1) === 'list') return { kind: 'tags', name: name(2) };
  if (hasName(2) && at(2) === 'scan' && at(1) === 'summary') return { kind: 'scan-summary', name: name(2) };
  if (n >= 4 && at(3) === 'manifests' && at(1) === 'scan')
    return { kind: 'manifest-scan', name: name(3), reference: at(2) };
  if (hasName(2) && at(2) === 'manifests') return { kind: 'manifest', name: name(2), reference: at(1) };
  if (hasName(2) && at(2) === 'blobs') return { kind: 'blob', name: name(2), digest: at(1) };
  if (hasName(2) && at(2) === 'referrers') return { kind: 'referrers', name: name(2), digest: at(1) };
  return null;
}
