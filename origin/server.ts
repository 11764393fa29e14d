// Runs the origin: the Application (every part of `registry serve`), its background work and the
// HTTP server in front. Shutdown stops accepting, lets in-flight uploads and pulls finish (up to
// http.shutdown_timeout), then closes the parts in the reverse order they were opened.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { Application, type ApplicationOptions } from './application.ts';
import { DEFAULT_USER } from './auth/users.ts';
import { type Config, withBoundPort } from './config.ts';
import { createApp } from './http/app.ts';
import type { Services } from './services.ts';

export interface RunningRegistry {
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  /** Stops accepting, waits for in-flight requests (up to the shutdown timeout), then closes. */
  close(): Promise<void>;
}

export async function startRegistry(
  config: Config,
  options: ApplicationOptions = {},
): Promise<RunningRegistry> {
  // Bound before anything opens: with http.addr's port 0 (any free port) the port is known only
  // once bound, and public_url and auth.service must name it. A request that comes meanwhile
  // waits for the application.
  const app = deferred<AppFetch>();
  const server = await listen(config, async (request, env) => (await app.promise)(request, env));
  const port = (server.address() as AddressInfo).port;
  let application: Application | undefined;
  let serverOwned = false;
  try {
    application = await Application.open(withBoundPort(config, port), options);
    const { services } = application;
    const { log } = services;
    if (await services.users.usesDefaultCredentials()) {
      log.warn(
        `no users configured: accepting the default ${DEFAULT_USER.name}/${DEFAULT_USER.password}; ` +
          'add users (registry user add, auth.users or auth.htpasswd) before exposing this registry',
      );
    }
    await logAdministrators(services);
    await application.start();
    application.own('http server', server, (s) => drain(s, config.http.shutdown_timeout));
    serverOwned = true;
    app.resolve(createApp(services).fetch);
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const url = `http://${host}:${port}`;
    log.info(
      { addr: url, database: services.db.engine, storage: config.storage.backend },
      'registry listening',
    );
    const running = application;
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= running.stop().then(() => log.info('registry stopped'));
      return closing;
    };
    return { url, port, services, close };
  } catch (error) {
    // Requests that waited for the application are answered 500, and the server closes.
    app.reject(error);
    if (!serverOwned) await drain(server, 0);
    await application?.stop();
    throw error;
  }
}

/**
 * Says who may call the /admin/ endpoints: the users of auth.admins that exist. Adding the first user
 * ends the default account, and with it the default administrator: a warning says when nobody is left.
 */
async function logAdministrators({ config, users, log }: Services): Promise<void> {
  const named = config.auth.admins;
  const existing = await users.existing(named);
  const missing = named.filter((name) => !existing.includes(name));
  if (existing.length === 0) {
    log.warn(
      { admins: [], missing },
      `auth.admins names no user that exists (${named.join(', ') || 'none'}): ` +
        'the /admin/ endpoints accept nobody; add one of them, or name an existing user in auth.admins',
    );
    return;
  }
  log.info(
    { admins: existing, missing },
    `administrators (the /admin/ endpoints): ${existing.join(', ')}` +
      (missing.length > 0
        ? `; auth.admins also names ${missing.join(', ')}, who ${missing.length === 1 ? 'does' : 'do'} not exist`
        : ''),
  );
}

type AppFetch = ReturnType<typeof createApp>['fetch'];

/** A promise and what settles it (Promise.withResolvers is ES2024). */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(reason: unknown): void } {
  let resolve: (value: T) => void = () => {};
  let reject: (reason: unknown) => void = () => {};
  const promise = new Promise<T>((settle, fail) => {
    resolve = settle;
    reject = fail;
  });
  // Rejected with nobody waiting (no request came before a failed start): not an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

type TrackedServer = Server & { readonly inFlight: Set<Promise<void>> };

async function listen(
  config: Config,
  fetch: (request: Request, env: HttpBindings) => Promise<Response>,
): Promise<TrackedServer> {
  const server = createAdaptorServer({
    fetch: (request, env) => fetch(request, env as HttpBindings),
    hostname: config.http.host,
  }) as Server;
  // Large layers take long: no request timeout; idle keep-alive connections close after 65 s.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  const inFlight = new Set<Promise<void>>();
  server.on('request', (_req, res) => {
    const done = new Promise<void>((resolve) => res.on('close', () => resolve()));
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve());
  });
  return Object.assign(server, { inFlight });
}

/** Stops accepting, waits for requests in flight (at most `timeoutMs`), then cuts what is left. */
async function drain(server: TrackedServer, timeoutMs: number): Promise<void> {
  server.close();
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.all(server.inFlight), deadline]);
  clearTimeout(timer);
  server.closeAllConnections();
}
