// The scan API: GET (results) and POST (scan now) /v2/{name}/manifests/{reference}/scan, and
// GET /v2/{name}/scan/summary. Pull permission reads results; push permission starts scans.
import { OciFailure, ociError } from '../../shared/errors.ts';
import { parseManifest, scanSubject } from '../../shared/manifest.ts';
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';
import { unwrap } from './respond.ts';

/** The manifest a scan request names: an image or an index (an artifact has nothing to scan). */
async function resolveScannable(s: Services, name: string, reference: string) {
  const { record, bytes } = unwrap(await s.manifests.get(name, reference));
  const kind = scanSubject(unwrap(parseManifest(bytes, record.mediaType)));
  if (kind.kind === 'artifact') {
    throw new OciFailure(
      ociError('MANIFEST_INVALID', {
        message: `${record.digest} is an artifact, not a container image: there is nothing to scan`,
        detail: { digest: record.digest },
      }),
    );
  }
  return { digest: record.digest, kind };
}

export async function getScan(
  c: AppContext,
  s: Services,
  name: string,
  reference: string,
): Promise<Response> {
  const { digest, kind } = await resolveScannable(s, name, reference);
  const withPackages = c.req.query('packages') === 'true';
  return c.json(await s.scans.report(digest, kind, withPackages));
}

export async function postScan(
  c: AppContext,
  s: Services,
  name: string,
  reference: string,
): Promise<Response> {
  const { digest, kind } = await resolveScannable(s, name, reference);
  const queued = await s.scans.request(name, digest, kind);
  return c.json({ digest, status: 'pending', queued }, 202, {
    Location: `/v2/${name}/manifests/${digest}/scan`,
  });
}

export async function getScanSummary(c: AppContext, s: Services, name: string): Promise<Response> {
  const summary = await s.scans.summary(name);
  if (!summary) throw new OciFailure(ociError('NAME_UNKNOWN', { detail: { name } }));
  return c.json(summary);
}
