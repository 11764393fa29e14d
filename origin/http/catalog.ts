// GET /v2/_catalog: repositories the caller may pull from.
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';
import { pageOf, paginate } from './pagination.ts';

export async function catalogHandler(c: AppContext, s: Services): Promise<Response> {
  const page = pageOf(c, 1000, 10_000);
  const principal = c.get('principal');
  // Filtering by permission may drop names, so read on until the page is full.
  const visible: string[] = [];
  let cursor = page.last;
  for (;;) {
    const batch = await s.repositories.list(page.limit + 1, cursor);
    for (const name of batch) {
      if (s.permissions.allows(principal.user, name, 'pull')) visible.push(name);
    }
    if (visible.length > page.limit || batch.length <= page.limit) break;
    cursor = batch[batch.length - 1];
  }
  return c.json({ repositories: paginate(c, '/v2/_catalog', page, visible.slice(0, page.limit + 1)) });
}
