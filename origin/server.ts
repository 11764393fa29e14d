// Runs the origin: the Application (every part of `registry serve`), its background work and the
// HTTP server in front. Shutdown stops accepting, lets in-flight uploads and pulls finish (up to
// http.shutdown_timeout), then closes the parts in the reverse order they were opened.
import type { Server } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { createAdaptorServer, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import { Application, type ApplicationOptions } from './application.ts';
import { DEFAULT_USER } from './auth/users.ts';
import { type Config, withBoundPort } from './config.ts';
import { createApp } from './http/app.ts';
import type { Services } from './services.ts';
import {
  type CertificateFiles,
  type CertificatePair,
  CertificateReloader,
  describePair,
  readCertificatePair,
} from './tls-certificate.ts';

export interface RunningRegistry {
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  /** With http.tls: the certificate served, and what reloads it (SIGHUP: `registry serve`). */
  readonly certificate: CertificateReloader | undefined;
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
  const listener = await listen(config, async (request, env) => (await app.promise)(request, env));
  const { server } = listener;
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
    application.own('http server', listener, (l) => l.drain(config.http.shutdown_timeout));
    serverOwned = true;
    let certificate: CertificateReloader | undefined;
    if (listener.tls) {
      const { server: secure, files, pair } = listener.tls;
      certificate = new CertificateReloader(secure, files, pair, log);
      certificate.watch();
      application.own('TLS certificate watch', certificate, (c) => c.close());
    }
    app.resolve(createApp(services).fetch);
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const url = `${certificate ? 'https' : 'http'}://${host}:${port}`;
    log.info(
      {
        addr: url,
        database: services.db.engine,
        storage: config.storage.backend,
        ...(certificate ? { tls: describePair(certificate.current) } : {}),
      },
      'registry listening',
    );
    const running = application;
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= running.stop().then(() => log.info('registry stopped'));
      return closing;
    };
    return { url, port, services, certificate, close };
  } catch (error) {
    // Requests that waited for the application are answered 500, and the server closes.
    app.reject(error);
    if (!serverOwned) await listener.drain(0);
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

/** The server bound to http.addr, and what stops it. */
interface Listener {
  readonly server: Server | Http2SecureServer;
  /** With http.tls: the HTTPS server, the files and the pair it started with. */
  readonly tls: { server: Http2SecureServer; files: CertificateFiles; pair: CertificatePair } | undefined;
  /** Stops accepting, waits for requests in flight (at most `timeoutMs`), then cuts what is left. */
  drain(timeoutMs: number): Promise<void>;
}

type Fetch = (request: Request, env: HttpBindings | Http2Bindings) => Promise<Response>;

async function listen(config: Config, fetch: Fetch): Promise<Listener> {
  const files = config.http.tls;
  const pair = files ? await readCertificatePair(files) : undefined;
  // With TLS, HTTP/2 and HTTP/1.1 on the same port, as ALPN agrees with each client.
  const server = pair
    ? (createAdaptorServer({
        fetch,
        hostname: config.http.host,
        createServer: createSecureServer,
        serverOptions: { allowHTTP1: true, cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' },
      }) as Http2SecureServer)
    : (createAdaptorServer({ fetch, hostname: config.http.host }) as Server);
  // Large layers take long: no request timeout; idle keep-alive connections close after 65 s
  // (HTTP/1.1 over TLS is served by the same code, so the settings apply there too).
  Object.assign(server, { requestTimeout: 0, keepAliveTimeout: 65_000 });
  const inFlight = new Set<Promise<void>>();
  server.on('request', (_req, res: { on(event: 'close', listener: () => void): unknown }) => {
    const done = new Promise<void>((resolve) => res.on('close', () => resolve()));
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve());
  });
  const waitForRequests = async (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(inFlight), deadline]);
    clearTimeout(timer);
  };
  if (!files || !pair) {
    const plain = server as Server;
    return {
      server,
      tls: undefined,
      async drain(timeoutMs) {
        plain.close();
        plain.closeIdleConnections();
        await waitForRequests(timeoutMs);
        plain.closeAllConnections();
      },
    };
  }
  // The HTTP/2 server closes idle HTTP/1.1 connections on close(); its HTTP/2 sessions only on
  // newer Node (24 does, 20 does not), and busy connections never: those are followed here.
  const secure = server as Http2SecureServer;
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  secure.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  secure.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    tls: { server: secure, files, pair },
    async drain(timeoutMs) {
      secure.close();
      // GOAWAY: no new streams on the session; those open finish.
      for (const session of sessions) session.close();
      await waitForRequests(timeoutMs);
      for (const socket of sockets) socket.destroy();
    },
  };
}
