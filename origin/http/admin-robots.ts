// Admin endpoints for robot accounts (origin/auth/robots.ts):
//   GET    /admin/robots          list: name, login, scopes, created, expires, last used (no secrets)
//   POST   /admin/robots          {name, scopes: [{prefix, actions}], expires_in?}: 201 with the
//                                 secret, the only time it is shown
//   DELETE /admin/robots/{name}   revoke: its credentials stop working at once
// Robots themselves never get here: they are no administrators (permissions.ts).
import { z } from 'zod';
import { OciFailure, ociError } from '../../shared/errors.ts';
import { parseRobotRequest, type Robot } from '../auth/robots.ts';
import type { Services } from '../services.ts';
import { requireAdmin } from './admin.ts';
import { body, invalid } from './admin-body.ts';
import { type AppContext, actorOf } from './context.ts';

export async function adminRobots(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  const name = c.req.param('name');
  if (name !== undefined) {
    if (!(await s.robots.remove(name, actorOf(c))))
      throw new OciFailure(ociError('NAME_UNKNOWN', { message: `no robot account ${name}` }));
    s.log.info({ user, robot: name }, `robot account ${name} deleted by ${user}`);
    return c.body(null, 204);
  }
  if (c.req.method === 'POST') {
    const parsed = parseRobotRequest(await body(c, z.unknown()));
    if (!parsed.ok) throw invalid(parsed.message);
    const created = await s.robots.create(parsed.request, actorOf(c));
    if (!created.ok) {
      throw new OciFailure(
        ociError('DENIED', {
          status: 409,
          message: `robot account ${parsed.request.name} exists: delete it first to make a new secret`,
        }),
      );
    }
    const { robot, secret } = created;
    s.log.info(
      { user, robot: robot.name, scopes: robot.scopes, expires_at: robot.expiresAt },
      `robot account ${robot.login} created by ${user}`,
    );
    return c.json({ ...robotJson(robot), secret }, 201);
  }
  return c.json({ robots: (await s.robots.list()).map(robotJson) });
}

const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const robotJson = (r: Robot) => ({
  name: r.name,
  login: r.login,
  scopes: r.scopes,
  created_at: time(r.createdAt),
  expires_at: time(r.expiresAt),
  last_used_at: time(r.lastUsedAt),
});
