// GET /v2/{name}/tags/list
import { OciFailure, ociError } from '../../shared/errors.ts';
import { listTags } from '../metadata/manifests.ts';
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';
import { pageOf, paginate } from './pagination.ts';

export async function listTagsHandler(c: AppContext, s: Services, name: string): Promise<Response> {
  const page = pageOf(c, 10_000, 10_000);
  const tags = await listTags(s.db, name, page.limit + 1, page.last);
  if (tags === null) throw new OciFailure(ociError('NAME_UNKNOWN', { detail: { name } }));
  return c.json({ name, tags: paginate(c, `/v2/${name}/tags/list`, page, tags) });
}
