// The registry over HTTPS (http.tls) with the real Docker engine and CLI, as a private CA's user
// runs it: the engine trusts the CA through /etc/docker/certs.d/HOST:PORT/ca.crt and has no
// insecure-registries entry for the registry. Docker counts 127.0.0.0/8 as insecure by default
// (it would then skip the certificate check), so the registry listens on an address of this
// machine outside it, and the test first shows the engine refusing the certificate without the CA.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { issueServerCertificate, makeCertificateAuthority } from '../harness/certificates.ts';
import { buildScratchImage, inspectImage, startDockerWorkspace } from '../harness/dockerd.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup } from '../harness/tools.ts';

/** Keeps this file's local image names apart from other files' in the shared engine. */
const RUN = randomBytes(4).toString('hex');

/** Where the engine looks for the CA of a registry HOST:PORT. */
const certsDir = (host: string) => path.join('/etc/docker/certs.d', host);

/** An IPv4 address of this machine outside 127.0.0.0/8. */
function externalAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((info) => info !== undefined && info.family === 'IPv4' && !info.internal)?.address;
  if (!address)
    throw new Error(
      'this test needs an IPv4 address outside 127.0.0.0/8 (docker treats the loopback range as insecure)',
    );
  return address;
}

/** Whether `ip` lies in the IPv4 `cidr`. */
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const value = (address: string) => address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  if (!base.includes('.') || !ip.includes('.')) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(value(ip) / size) === Math.floor(value(base) / size);
}

const env = fileSetup(async (defer) => {
  const ip = externalAddress();
  const dir = await mkdtemp(path.join(tmpdir(), 'registry-e2e-tls-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCertificateAuthority(dir);
  const server = await issueServerCertificate(ca, [ip], 0x2001);
  const registry = await startTestRegistry({
    config: { http: { addr: `${ip}:0`, tls: { certificate: server.certificate, key: server.key } } },
  });
  defer(() => registry.close());
  const workspace = await startDockerWorkspace(defer, 'docker-tls-');
  return { ip, ca, registry, ...workspace };
});

beforeAll(() => env.settle());
afterAll(() => env.teardown());

describe('docker and an HTTPS registry with a private CA', () => {
  test('the engine counts the registry as secure: no insecure-registries entry covers it', async () => {
    const { ip, registry, docker } = await env.get();
    expect(registry.url).toBe(`https://${registry.host}`);
    const cidrs = JSON.parse(
      await docker.ok(['info', '--format', '{{json .RegistryConfig.InsecureRegistryCIDRs}}']),
    ) as string[];
    expect(cidrs.filter((cidr) => inCidr(ip, cidr))).toEqual([]);
    const indexes = JSON.parse(
      await docker.ok(['info', '--format', '{{json .RegistryConfig.IndexConfigs}}']),
    ) as Record<string, { Secure: boolean }>;
    expect(indexes[registry.host]).toBeUndefined();
  });

  test('without the CA the engine refuses the certificate; with it in certs.d, login, push and pull work', async () => {
    const { ca, registry, docker, workDir, images } = await env.get();
    const refused = await docker.login(registry.host, 'admin', 'secret');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/x509|certificate signed by unknown authority/);

    const trusted = certsDir(registry.host);
    await mkdir(trusted, { recursive: true });
    try {
      await writeFile(path.join(trusted, 'ca.crt'), ca.pem);
      const login = await docker.login(registry.host, 'admin', 'secret');
      expect(login.code, login.stderr).toBe(0);

      const local = `e2e-${RUN}/tls:built`;
      await buildScratchImage(docker, await mkdtemp(path.join(workDir, 'context-')), local, {
        'hello.txt': `pushed over HTTPS ${RUN}\n`,
        'more.bin': randomBytes(256 * 1024),
      });
      images.add(local);
      const built = await inspectImage<{ Id: string }>(docker, local);
      const remote = `${registry.host}/tls/demo:${RUN}`;
      await docker.ok(['tag', local, remote]);
      images.add(remote);
      const pushed = await docker.ok(['push', remote]);
      expect(pushed).toMatch(/digest: sha256:[0-9a-f]{64}/);

      // Gone from the engine, layers and all, then pulled back over HTTPS.
      await docker.ok(['rmi', '--force', built.Id]);
      await docker.ok(['pull', remote]);
      expect((await inspectImage<{ Id: string }>(docker, remote)).Id).toBe(built.Id);
    } finally {
      await rm(trusted, { recursive: true, force: true });
    }
  });
});
