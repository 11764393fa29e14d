// The HTTPS certificate and key (http.tls). Read at start: a pair that cannot be used stops the
// start. Read again on SIGHUP and when either file changes, so that a renewed certificate is
// served without a restart; a new pair that cannot be used is logged and the previous one kept.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';

export interface CertificateFiles {
  readonly certificate: string;
  readonly key: string;
}

export interface CertificatePair {
  /** The PEM files' bytes, as read. */
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Of the leaf certificate (the file's first), for the logs. */
  readonly serial: string;
  readonly subject: string;
  readonly notAfter: string;
}

export type ReloadTrigger = 'SIGHUP' | 'file change';

/** Reads both files and checks that they make a pair a TLS server can use; throws saying why not. */
export async function readCertificatePair(files: CertificateFiles): Promise<CertificatePair> {
  const [cert, key] = await Promise.all([
    readPem(files.certificate, 'http.tls.certificate'),
    readPem(files.key, 'http.tls.key'),
  ]);
  return checkPair(files, cert, key);
}

async function readPem(file: string, configKey: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new Error(`${configKey}: cannot read ${file}: ${(error as Error).message}`);
  }
}

function checkPair(files: CertificateFiles, cert: Buffer, key: Buffer): CertificatePair {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`http.tls.certificate: ${files.certificate} holds no PEM certificate (${reason(error)})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`http.tls.key: ${files.key} holds no unencrypted PEM private key (${reason(error)})`);
  }
  if (privateKey.asymmetricKeyType !== leaf.publicKey.asymmetricKeyType || !leaf.checkPrivateKey(privateKey))
    throw new Error(`http.tls: the key ${files.key} is not the key of the certificate ${files.certificate}`);
  try {
    createSecureContext({ cert, key }); // what the server will do with them: anything else it refuses
  } catch (error) {
    throw new Error(`http.tls: ${files.certificate} and ${files.key} cannot be used: ${reason(error)}`);
  }
  return { cert, key, serial: leaf.serialNumber, subject: leaf.subject, notAfter: leaf.validTo };
}

const reason = (error: unknown) => (error as Error).message;

/** What the logs say of a pair. */
export const describePair = (pair: CertificatePair) => ({
  serial: pair.serial,
  subject: pair.subject.replace(/\n/g, ', '),
  not_after: pair.notAfter,
});

/**
 * Gives `server` the pair found in the files again, on request (SIGHUP) and when the files
 * change. The directories holding them are watched rather than the files: a renewal usually
 * replaces a file (a rename, or a symlink moved as certbot and Kubernetes do), and a watch on
 * the old file would see nothing more.
 */
export class CertificateReloader {
  readonly #server: TlsServer;
  readonly #files: CertificateFiles;
  readonly #log: Logger;
  readonly #debounceMs: number;
  #current: CertificatePair;
  /** The bytes last tried, used or refused: a change event that finds them again has nothing new. */
  #tried: { cert: Buffer; key: Buffer } | undefined;
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Reloads run one after the other. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    server: TlsServer,
    files: CertificateFiles,
    current: CertificatePair,
    log: Logger,
    debounceMs = 300,
  ) {
    this.#server = server;
    this.#files = files;
    this.#current = current;
    this.#tried = { cert: current.cert, key: current.key };
    this.#log = log;
    this.#debounceMs = debounceMs;
  }

  /** The pair served to new connections. */
  get current(): CertificatePair {
    return this.#current;
  }

  /** Reads the files again; true if the pair they hold is now served, false if the previous one is kept. */
  reload(trigger: ReloadTrigger): Promise<boolean> {
    const next = this.#queue.then(() => this.#reload(trigger));
    this.#queue = next;
    return next;
  }

  async #reload(trigger: ReloadTrigger): Promise<boolean> {
    let pair: CertificatePair;
    try {
      const [cert, key] = await Promise.all([
        readPem(this.#files.certificate, 'http.tls.certificate'),
        readPem(this.#files.key, 'http.tls.key'),
      ]);
      // A change elsewhere in the directory, or the second event of one write: nothing to do.
      // A SIGHUP is a request: it loads what it finds.
      if (
        trigger === 'file change' &&
        this.#tried &&
        cert.equals(this.#tried.cert) &&
        key.equals(this.#tried.key)
      )
        return false;
      this.#tried = { cert, key };
      pair = checkPair(this.#files, cert, key);
    } catch (error) {
      this.#log.error(
        { trigger, err: reason(error), kept: describePair(this.#current) },
        'TLS certificate not reloaded: still serving the previous one',
      );
      return false;
    }
    // Validated above: the server builds its context from the same bytes (with its TLS versions).
    this.#server.setSecureContext({ cert: pair.cert, key: pair.key });
    this.#current = pair;
    this.#log.info({ trigger, ...describePair(pair) }, 'TLS certificate loaded');
    return true;
  }

  /** Reloads (after a short quiet period) whenever something changes in the files' directories. */
  watch(): void {
    const directories = new Set([path.dirname(this.#files.certificate), path.dirname(this.#files.key)]);
    for (const directory of directories) {
      try {
        const watcher = watch(directory, { persistent: false }, () => this.#changed());
        watcher.on('error', (error) =>
          this.#log.warn({ directory, err: reason(error) }, 'TLS certificate directory no longer watched'),
        );
        this.#watchers.push(watcher);
      } catch (error) {
        this.#log.warn(
          { directory, err: reason(error) },
          'TLS certificate directory not watched: send SIGHUP after replacing the files',
        );
      }
    }
  }

  #changed(): void {
    if (this.#closed) return;
    // A renewal writes two files, often in several steps: read them once it has settled.
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload('file change'), this.#debounceMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    await this.#queue;
  }
}
