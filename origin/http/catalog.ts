// GET /v2/_catalog: repositories the caller may pull from.
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';
import { pageOf, paginate } from './pagination.ts';

export async function catalogHandler(c: AppContext, s: Services): Promise<Response> {
  const page = pageOf(c, 1000, 10_000);
  const principal = c.get('principal');
  const visible = await s.repositories.list(page.limit, page.last, (name) =>
    s.permissions.allows(principal.user, name, 'pull'),
  );
  return c.json({ repositories: paginate(c, '/v2/_catalog', page, visible) });
}
