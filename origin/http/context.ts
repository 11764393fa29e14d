// The Hono environment of the origin: Node bindings plus what middlewares add to a request.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Writable } from 'node:stream';
import type { Http2Bindings, HttpBindings } from '@hono/node-server';
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
  /** HTTP/2 requests (with http.tls, when the client speaks it) come as Node's compatibility objects. */
  Bindings: HttpBindings | Http2Bindings;
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

/** What is used of the Node response by code that writes to it directly: alike on HTTP/1.1 and HTTP/2. */
export type NodeResponse = Writable & {
  statusCode: number;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
};

export function nodeResponse(c: AppContext): NodeResponse {
  return c.env.outgoing;
}

/** True for a request that came over HTTP/2. */
export function isHttp2(c: AppContext): boolean {
  return c.env.incoming.httpVersionMajor === 2;
}

/** Who makes this request's writes: the authenticated user (if any) from the client's address. */
export function actorOf(c: AppContext): Actor {
  return { user: c.get('principal')?.user ?? null, address: c.env.incoming.socket.remoteAddress ?? null };
}
