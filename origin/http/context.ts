// The Hono environment of the origin: Node bindings plus what middlewares add to a request.
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { RepositoryAction } from '../../shared/scope.ts';
import type { Actor } from '../registry/events.ts';

export interface Principal {
  /** null for an anonymous caller. */
  readonly user: string | null;
  readonly via: 'anonymous' | 'basic' | 'bearer';
  can(repository: string, action: RepositoryAction): boolean;
  /** May list the catalog: a signed-in user, or a token granting registry:catalog:*. */
  readonly catalog: boolean;
  /** May run the /admin endpoints: an administrator by Basic credentials, or by a token granting registry:admin:*. */
  readonly admin: boolean;
}

export type AppEnv = {
  Bindings: HttpBindings;
  Variables: {
    requestId: string;
    routeLabel: string;
    principal: Principal;
    /** Set by handlers that wrote straight to the Node response (blob bodies). */
    sentDirectly: boolean;
    bytesIn: number;
  };
};

export type AppContext = Context<AppEnv>;

/** Who makes this request's writes: the authenticated user (if any) from the client's address. */
export function actorOf(c: AppContext): Actor {
  return { user: c.get('principal')?.user ?? null, address: c.env.incoming.socket.remoteAddress ?? null };
}
