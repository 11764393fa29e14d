// Everything but the read path goes to origin through the edge, streamed: uploads (monolithic,
// streamed and chunked), manifest PUT, deletes, the catalog, referrers, the scan API and /token.
// (Large pushes belong at origin directly: Workers cap request bodies; see docs/architecture.md.)
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OCI_MANIFEST, sha256 } from '../harness/client.ts';
import { ask, basic, bearer, type EdgeSetup, pullToken, startEdgeSetup, token } from './support.ts';

const NAME = 'edge/pushed';

let setup: EdgeSetup;
let pushAuth: string;

beforeAll(async () => {
  setup = await startEdgeSetup();
  pushAuth = bearer(await token(setup.registry, `repository:${NAME}:pull,push,delete`));
});
afterAll(async () => setup?.close());

/** A request with a body to the edge. */
function send(
  path: string,
  method: string,
  body: Uint8Array | string | undefined,
  headers: Record<string, string> = {},
) {
  return fetch(`${setup.edge.url}${path}`, {
    method,
    body: body as BodyInit | undefined,
    headers: { Authorization: pushAuth, ...headers },
    redirect: 'manual',
  });
}

describe('requests the edge does not serve reach origin', () => {
  test('a push through the edge (streamed and chunked uploads, manifest PUT) is stored at origin and pulled back', async () => {
    const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
    const layer = new Uint8Array(randomBytes(300_000));

    // Streamed: POST, one PATCH, PUT ?digest=.
    const started = await send(`/v2/${NAME}/blobs/uploads/`, 'POST', undefined);
    expect(started.status).toBe(202);
    const location = started.headers.get('location') as string;
    const patched = await send(location, 'PATCH', layer, { 'Content-Type': 'application/octet-stream' });
    expect(patched.status).toBe(202);
    const next = new URL(patched.headers.get('location') as string, setup.edge.url);
    next.searchParams.set('digest', sha256(layer));
    const finished = await send(next.pathname + next.search, 'PUT', undefined);
    expect(finished.status).toBe(201);
    expect(finished.headers.get('docker-content-digest')).toBe(sha256(layer));

    // Chunked: two PATCHes with Content-Range, then PUT.
    const chunked = await send(`/v2/${NAME}/blobs/uploads/`, 'POST', undefined);
    let at = chunked.headers.get('location') as string;
    const half = Math.floor(config.byteLength / 2);
    for (const [start, part] of [
      [0, config.subarray(0, half)],
      [half, config.subarray(half)],
    ] as const) {
      const response = await send(at, 'PATCH', part, {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `${start}-${start + part.byteLength - 1}`,
      });
      expect(response.status).toBe(202);
      at = response.headers.get('location') as string;
    }
    const url = new URL(at, setup.edge.url);
    url.searchParams.set('digest', sha256(config));
    expect((await send(url.pathname + url.search, 'PUT', undefined)).status).toBe(201);

    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.byteLength,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: sha256(layer),
          size: layer.byteLength,
        },
      ],
    });
    const put = await send(`/v2/${NAME}/manifests/v1`, 'PUT', manifest, { 'Content-Type': OCI_MANIFEST });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(manifest));
    expect(setup.proxy.count('PUT', `/v2/${NAME}/manifests/v1`)).toBe(1);

    // Pulled back through the edge.
    const pull = bearer(await pullToken(setup.registry, NAME));
    const got = await ask(setup.edge.url, `/v2/${NAME}/manifests/v1`, { auth: pull });
    expect(await got.text()).toBe(manifest);
    const blob = await ask(setup.edge.url, `/v2/${NAME}/blobs/${sha256(layer)}`, { auth: pull });
    expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256(layer));

    // DELETE through the edge; the edge then finds it gone (origin is asked again after the TTL).
    const deleted = await send(`/v2/${NAME}/manifests/${sha256(manifest)}`, 'DELETE', undefined);
    expect(deleted.status).toBe(202);
    expect((await ask(setup.registry.url, `/v2/${NAME}/manifests/v1`, { auth: pull })).status).toBe(404);
  });

  test('/token, the catalog, referrers and the scan API are origin’s answers', async () => {
    const issued = await fetch(
      `${setup.edge.url}/token?service=${setup.registry.running.services.config.auth.service}&scope=repository:${NAME}:pull`,
      {
        headers: { Authorization: basic('admin', 'secret') },
      },
    );
    expect(issued.status).toBe(200);
    const { token: granted } = (await issued.json()) as { token: string };
    expect((await ask(setup.edge.url, '/v2/', { auth: bearer(granted) })).status).toBe(200);

    for (const path of [
      '/v2/_catalog',
      `/v2/${NAME}/scan/summary`,
      `/v2/${NAME}/referrers/sha256:${'0'.repeat(64)}`,
    ]) {
      const edge = await ask(setup.edge.url, path, { auth: basic('admin', 'secret') });
      const origin = await ask(setup.registry.url, path, { auth: basic('admin', 'secret') });
      expect(edge.status, path).toBe(origin.status);
      expect(await edge.text(), path).toBe(await origin.text());
      expect(setup.proxy.count('GET', path), path).toBe(1);
    }
    // A method the read path does not take: origin's answer.
    const edge = await ask(setup.edge.url, `/v2/${NAME}/tags/list`, { auth: pushAuth, method: 'DELETE' });
    const origin = await ask(setup.registry.url, `/v2/${NAME}/tags/list`, {
      auth: pushAuth,
      method: 'DELETE',
    });
    expect(edge.status).toBe(origin.status);
    expect(await edge.text()).toBe(await origin.text());
  });
});
