// Certificates for the HTTPS tests, made by the openssl command: a CA of the test's own, and
// server certificates it signs for IP addresses, each with the serial the test chooses (so that
// a test can tell which one a server presents).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runOk } from './tools.ts';

export interface CertificateAuthority {
  /** PEM files of the CA's certificate and key. */
  readonly certificate: string;
  readonly key: string;
  /** The certificate's PEM text, for a client that trusts it. */
  readonly pem: string;
  /** Where its certificates are made. */
  readonly dir: string;
}

export interface IssuedCertificate {
  /** PEM files of the server certificate and its key. */
  readonly certificate: string;
  readonly key: string;
  /** As Node's getPeerCertificate() and X509Certificate write it: hex, upper case. */
  readonly serial: string;
}

const openssl = (args: readonly string[]) => runOk('openssl', args);

/** A new CA (an EC P-256 key, valid a day) in a new directory under `parent`. */
export async function makeCertificateAuthority(parent: string): Promise<CertificateAuthority> {
  const dir = await mkdtemp(path.join(parent, 'ca-'));
  const certificate = path.join(dir, 'ca.crt');
  const key = path.join(dir, 'ca.key');
  // biome-ignore format: one option per line reads better
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', certificate, '-days', '1',
    '-subj', `/CN=registry test CA ${randomBytes(4).toString('hex')}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certificate, key, pem: await readFile(certificate, 'utf8'), dir };
}

let issued = 0;

/**
 * A server certificate for `ips` (in subjectAltName) signed by `ca`, with a new key, in files of
 * its own under the CA's directory.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  ips: readonly string[],
  serial: number,
): Promise<IssuedCertificate> {
  // Two bytes, high bit clear: written the same by openssl and by Node (no padding, no sign byte).
  if (!Number.isInteger(serial) || serial < 0x1000 || serial > 0x7fff)
    throw new Error(`serial ${serial}: choose one from 0x1000 to 0x7fff`);
  const base = path.join(ca.dir, `server-${++issued}`);
  const [certificate, key, request, extensions] = ['.crt', '.key', '.csr', '.ext'].map(
    (ext) => base + ext,
  ) as [string, string, string, string];
  // biome-ignore format: one option per line reads better
  await openssl([
    'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', request, '-subj', `/CN=${ips[0]}`,
  ]);
  await writeFile(
    extensions,
    `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\nextendedKeyUsage=serverAuth\n`,
  );
  // biome-ignore format: one option per line reads better
  await openssl([
    'x509', '-req', '-in', request, '-CA', ca.certificate, '-CAkey', ca.key,
    '-set_serial', `0x${serial.toString(16)}`, '-days', '1', '-extfile', extensions, '-out', certificate,
  ]);
  return { certificate, key, serial: serial.toString(16).toUpperCase() };
}
