// A robot account used as CI uses it, with the real Docker engine and CLI: docker login as
// robot$NAME with the secret the registry made, docker push into the robot's prefix, docker pull
// where it may only pull; pushes and pulls outside its scopes refused.
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call } from '../harness/client.ts';
import { buildScratchImage, startDockerWorkspace } from '../harness/dockerd.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup } from '../harness/tools.ts';

/** Keeps this file's local image names apart from other files' in the shared engine. */
const RUN = randomBytes(4).toString('hex');
const REFUSED = /denied|unauthorized|authentication required|insufficient/i;

const env = fileSetup(async (defer) => {
  const registry = await startTestRegistry();
  defer(() => registry.close());
  const { session, docker: admin, workDir, images } = await startDockerWorkspace(defer, 'docker-robot-');
  const login = await admin.login(registry.host, 'admin', 'secret');
  if (login.code !== 0) throw new Error(`docker login as admin/secret failed: ${login.stderr}`);
  const created = await call(registry, 'POST', '/admin/robots', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: 'ci-deploy',
      scopes: [
        { prefix: 'team/app/', actions: ['push'] },
        { prefix: 'base/', actions: ['pull'] },
      ],
    }),
  });
  if (created.status !== 201) throw new Error(`robot not created: ${await created.text()}`);
  const { login: robotName, secret } = (await created.json()) as { login: string; secret: string };
  const local = `e2e-${RUN}/robot:built`;
  await buildScratchImage(admin, await mkdtemp(path.join(workDir, 'context-')), local, {
    'robot.txt': `built for the robot test ${RUN}\n`,
  });
  images.add(local);
  // Images pushed by the administrator: one the robot may pull, one it may not.
  for (const repository of ['base/os', 'other/app']) {
    const remote = `${registry.host}/${repository}:1`;
    await admin.ok(['tag', local, remote]);
    images.add(remote);
    await admin.ok(['push', remote]);
  }
  const robot = await session.newCli();
  return { registry, robot, robotName, secret, local, images };
});

beforeAll(() => env.settle());
afterAll(() => env.teardown());

/** Tags the local image as `repository:tag` of the registry (removed from the engine at the end). */
async function tagged(repository: string, tag: string): Promise<string> {
  const { registry, robot, local, images } = await env.get();
  const remote = `${registry.host}/${repository}:${tag}`;
  await robot.ok(['tag', local, remote]);
  images.add(remote);
  return remote;
}

describe('a robot account with docker', () => {
  test('docker login as robot$NAME with its secret succeeds', async () => {
    const { registry, robot, robotName, secret } = await env.get();
    expect(robotName).toBe('robot$ci-deploy');
    const login = await robot.login(registry.host, robotName, secret);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
  });

  test('docker push into its prefix works, and the image is there', async () => {
    const { registry, robot } = await env.get();
    const remote = await tagged('team/app/web', '1');
    const push = await robot.run(['push', remote]);
    expect(push.code, push.stderr).toBe(0);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    expect(digest).toBeDefined();
    const stored = await call(registry, 'HEAD', '/v2/team/app/web/manifests/1');
    expect(stored.status).toBe(200);
    expect(stored.headers.get('docker-content-digest')).toBe(digest);
  });

  test('docker pull where it may only pull works', async () => {
    const { registry, robot, images } = await env.get();
    const base = `${registry.host}/base/os:1`;
    await robot.run(['rmi', base]);
    const pull = await robot.run(['pull', base]);
    images.add(base);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain('Digest: sha256:');
  });

  test('docker push where it may only pull, or outside its prefixes, is refused and stores nothing', async () => {
    const { registry, robot } = await env.get();
    for (const repository of ['base/os', 'other/app']) {
      const remote = await tagged(repository, 'robot');
      const push = await robot.run(['push', remote]);
      expect(push.code, repository).not.toBe(0);
      expect(push.stderr).toMatch(REFUSED);
      expect((await call(registry, 'GET', `/v2/${repository}/manifests/robot`)).status).toBe(404);
    }
  });

  test('docker pull outside its scopes is refused', async () => {
    const { registry, robot } = await env.get();
    const pull = await robot.run(['pull', `${registry.host}/other/app:1`]);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toMatch(REFUSED);
  });
});
