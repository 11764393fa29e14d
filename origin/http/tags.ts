// GET /v2/{name}/tags/list
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';
import { pageOf, paginate } from './pagination.ts';
import { unwrap } from './respond.ts';

export async function listTagsHandler(c: AppContext, s: Services, name: string): Promise<Response> {
  const page = pageOf(c, 10_000, 10_000);
  const tags = unwrap(await s.repositories.tags(name, page.limit + 1, page.last));
  return c.json({ name, tags: paginate(c, `/v2/${name}/tags/list`, page, tags) });
}
