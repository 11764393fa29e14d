// Scanning and pull policy with the real Docker CLI: docker push is unchanged by the scan it
// triggers; a policy makes docker pull fail with the registry's message; the allowlist lifts it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { call } from '../harness/client.ts';
import { buildAlpineImage, startDockerSession } from '../harness/dockerd.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup } from '../harness/tools.ts';

const RUN = randomBytes(4).toString('hex');

const env = fileSetup(async (defer) => {
  const registry = await startTestRegistry({
    config: { scan: { concurrency: 1, poll_interval: '200ms' }, policy: { refresh_interval: '200ms' } },
  });
  defer(() => registry.close());
  const { docker } = await startDockerSession(defer);
  const workDir = await mkdtemp(path.join(tmpdir(), 'scan-docker-'));
  defer(() => rm(workDir, { recursive: true, force: true }));
  const imported = await call(registry, 'POST', '/admin/vulndb/import', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: path.resolve('test/fixtures/osv') }),
  });
  if (imported.status !== 200) throw new Error(`import: ${imported.status} ${await imported.text()}`);
  const login = await docker.login(registry.host, 'admin', 'secret');
  if (login.code !== 0) throw new Error(`docker login failed: ${login.stderr}`);
  // An Alpine 3.14 root: its apk database names openssl 1.1.1k (CVE-2021-3711, critical).
  const local = `scan-e2e-${RUN}:built`;
  await buildAlpineImage(docker, path.join(workDir, 'context'), local, RUN);
  defer(() => docker.run(['rmi', '--force', local]));
  const remote = `${registry.host}/policy/alpine:3.14`;
  await docker.ok(['tag', local, remote]);
  defer(() => docker.run(['rmi', '--force', remote]));
  return { registry, docker, remote };
});

beforeAll(() => env.settle());
afterAll(() => env.teardown());

const admin = async (method: string, url: string, body: unknown) => {
  const { registry } = await env.get();
  const response = await call(registry, method, url, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
};

test('docker push prints what it always prints; the scan runs afterwards and docker pull is refused by policy with the CVEs named, then allowed by the allowlist', async () => {
  const { registry, docker, remote } = await env.get();
  const push = await docker.run(['push', remote]);
  expect(push.code, push.stderr).toBe(0);
  expect(push.stdout).toMatch(/3\.14: digest: sha256:[0-9a-f]{64} size: \d+/);
  expect(`${push.stdout}${push.stderr}`).not.toMatch(/vulnerab|scan|error/i);

  const deadline = Date.now() + 60_000;
  for (;;) {
    const report = (await (await call(registry, 'GET', '/v2/policy/alpine/manifests/3.14/scan')).json()) as {
      status: string;
    };
    if (report.status === 'completed') break;
    if (Date.now() > deadline) throw new Error(`scan still ${report.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  await admin('PUT', '/admin/policies', { prefix: 'policy/', threshold: 'critical' });
  await docker.ok(['rmi', remote]);
  const blocked = await docker.run(['pull', remote]);
  expect(blocked.code).not.toBe(0);
  expect(blocked.stderr).toContain('image blocked due to critical vulnerabilities (CVE-2021-3711)');

  await admin('PUT', '/admin/allowlist', {
    prefix: 'policy/alpine',
    vulnerability: 'CVE-2021-3711',
    reason: 'not reachable in this image',
  });
  const pulled = await docker.run(['pull', remote]);
  expect(pulled.code, pulled.stderr).toBe(0);
});
