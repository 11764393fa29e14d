// Pull policy through the edge: the edge never serves a manifest of an image origin blocks. It
// reuses an "allowed" decision for at most POLICY_TTL, so a block set at origin is enforced at the
// edge within POLICY_TTL + one request, with origin's error; a lifted block is served again at once
// (blocks are never cached).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, OCI_INDEX, OCI_MANIFEST, pushImage, sha256 } from '../harness/client.ts';
import { ask, bearer, type EdgeSetup, pullToken, startEdgeSetup } from './support.ts';

/** Long enough never to run out by itself here: the test moves the edge's clock past it. */
const POLICY_TTL = 30;
const NAME = 'policy/app';

let setup: EdgeSetup;
let auth: string;

beforeAll(async () => {
  // Nothing is scanned, so a policy that blocks unscanned images blocks every image.
  setup = await startEdgeSetup(
    { policyTtlSeconds: POLICY_TTL, tagTtlSeconds: 30 },
    { config: { scan: { on_push: false }, policy: { refresh_interval: '200ms' } } },
  );
  auth = bearer(await pullToken(setup.registry, NAME));
});
afterAll(async () => setup?.close());

async function setPolicy(method: 'PUT' | 'DELETE') {
  const response =
    method === 'PUT'
      ? await call(setup.registry, 'PUT', '/admin/policies', {
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ prefix: 'policy/', unscanned: 'block' }),
        })
      : await call(setup.registry, 'DELETE', '/admin/policies?prefix=policy/');
  expect(response.status).toBeLessThan(300);
}

describe('a block set at origin reaches the edge within POLICY_TTL + one request', () => {
  test('blocked by tag and by digest, images of an index with it, with origin’s 403; served again once lifted', async () => {
    const image = await pushImage(setup.registry, NAME, 'v1');
    const amd = await pushImage(setup.registry, NAME, 'amd');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: amd.digest,
          size: amd.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    });
    const put = await call(setup.registry, 'PUT', `/v2/${NAME}/manifests/multi`, {
      body: index,
      headers: { 'Content-Type': OCI_INDEX },
    });
    expect(put.status).toBe(201);
    const accept = { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` };
    const paths = [
      `/v2/${NAME}/manifests/v1`,
      `/v2/${NAME}/manifests/${image.digest}`,
      `/v2/${NAME}/manifests/multi`,
      `/v2/${NAME}/manifests/${sha256(index)}`,
      `/v2/${NAME}/manifests/${amd.digest}`,
    ];
    // Allowed and cached: a second round is served by the edge alone.
    for (const path of paths)
      expect((await ask(setup.edge.url, path, { auth, headers: accept })).status).toBe(200);
    const before = setup.proxy.requests.length;
    for (const path of paths) {
      const response = await ask(setup.edge.url, path, { auth, headers: accept });
      expect(response.headers.get('x-edge-cache'), path).toBe('HIT');
    }
    expect(setup.proxy.requests.length).toBe(before);

    await setPolicy('PUT');
    // POLICY_TTL after origin last allowed them, the first request of each is refused.
    await setup.edge.advanceClock(POLICY_TTL * 1000);
    for (const path of paths) {
      const response = await ask(setup.edge.url, path, { auth, headers: accept });
      expect(response.status, path).toBe(403);
      await response.arrayBuffer();
    }

    // The refusal is origin's, as origin wrote it; a HEAD gets its status and headers.
    for (const path of paths) {
      const edge = await ask(setup.edge.url, path, { auth, headers: accept });
      const origin = await ask(setup.registry.url, path, { auth, headers: accept });
      expect(edge.status).toBe(403);
      expect(await edge.json()).toEqual(await origin.json());
      expect(edge.headers.get('x-registry-policy-epoch')).toBe(origin.headers.get('x-registry-policy-epoch'));
      const head = await ask(setup.edge.url, path, { auth, headers: accept, method: 'HEAD' });
      expect(head.status).toBe(403);
      expect(await head.text()).toBe('');
    }
    const body = (await (await ask(setup.edge.url, paths[0] as string, { auth })).json()) as {
      errors: { code: string; message: string }[];
    };
    expect(body.errors[0]).toMatchObject({
      code: 'DENIED',
      message: 'image blocked: not scanned yet (the policy for this repository requires a completed scan)',
    });

    // Lifted: the next request is served (a block is never cached).
    await setPolicy('DELETE');
    for (const path of paths) {
      const response = await ask(setup.edge.url, path, { auth, headers: accept });
      expect(response.status, path).toBe(200);
    }
  });

  test('an image first pulled while blocked is refused, and nothing of it is served from the cache later', async () => {
    await setPolicy('PUT');
    try {
      const image = await pushImage(setup.registry, NAME, 'fresh');
      for (const reference of ['fresh', image.digest]) {
        const response = await ask(setup.edge.url, `/v2/${NAME}/manifests/${reference}`, { auth });
        expect(response.status).toBe(403);
      }
      const gets = setup.proxy.count('GET', `/v2/${NAME}/manifests/fresh`);
      const again = await ask(setup.edge.url, `/v2/${NAME}/manifests/fresh`, { auth });
      expect(again.status).toBe(403);
      expect(setup.proxy.count('GET', `/v2/${NAME}/manifests/fresh`)).toBe(gets + 1);
    } finally {
      await setPolicy('DELETE');
    }
  });
});
