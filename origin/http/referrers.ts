// GET /v2/{name}/referrers/{digest}: an index of the manifests whose subject is the digest.
import { MediaType } from '../../shared/media-types.ts';
import { parseDigestParam } from '../registry/uploads.ts';
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';
import { unwrap } from './respond.ts';

export async function referrersHandler(
  c: AppContext,
  s: Services,
  name: string,
  digestParam: string,
): Promise<Response> {
  const digest = unwrap(parseDigestParam(digestParam)).value;
  const artifactType = c.req.query('artifactType') || undefined;
  const body = await s.manifests.referrers(name, digest, artifactType);
  if (artifactType) c.header('OCI-Filters-Applied', 'artifactType');
  return c.body(body, 200, { 'Content-Type': MediaType.ociIndex });
}
