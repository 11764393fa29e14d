// Runs the origin: the Application (every part of `registry serve`), its background work and the
// HTTP server in front. Shutdown stops accepting, lets in-flight uploads and pulls finish (up to
// http.shutdown_timeout), then closes the parts in the reverse order they were opened.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Application, type ApplicationOptions } from './application.ts';
import { DEFAULT_USER } from './auth/users.ts';
import type { Config } from './config.ts';
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
  const application = await Application.open(config, options);
  const { services } = application;
  const { log } = services;
  try {
    if (await services.users.usesDefaultCredentials()) {
      log.warn(
        `no users configured: accepting the default ${DEFAULT_USER.name}/${DEFAULT_USER.password}; ` +
          'add users (registry user add, auth.users or auth.htpasswd) before exposing this registry',
      );
    }
    await logAdministrators(services);
    await application.start();
    const server = await listen(config, services);
    application.own('http server', server, (s) => drain(s, config.http.shutdown_timeout));
    const port = (server.address() as AddressInfo).port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const url = `http://${host}:${port}`;
    log.info(
      { addr: url, database: services.db.engine, storage: config.storage.backend },
      'registry listening',
    );
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= application.stop().then(() => log.info('registry stopped'));
      return closing;
    };
    return { url, port, services, close };
  } catch (error) {
    await application.stop();
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

type TrackedServer = Server & { readonly inFlight: Set<Promise<void>> };

async function listen(config: Config, services: Services): Promise<TrackedServer> {
  const app = createApp(services);
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.http.host }) as Server;
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
