// storage.s3.redirect: blob GETs answer 307 to a presigned S3 URL, and the real Docker CLI
// follows it, fetching the layers from S3 itself.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CountingProxy, startCountingProxy } from '../harness/counting-proxy.ts';
import { startDockerSession } from '../harness/dockerd.ts';
import { buildImage, pushImage } from '../harness/oci-image.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { startS3Server } from '../harness/s3.ts';
import { fileSetup } from '../harness/tools.ts';

const name = `s3/redirect-${randomBytes(4).toString('hex')}`;

const env = fileSetup(async (defer) => {
  const s3 = await startS3Server();
  defer(() => s3.stop());
  // Docker reaches S3 through this proxy, so the test can see which layers it fetched there.
  const proxy: CountingProxy = await startCountingProxy(s3.endpoint);
  defer(() => proxy.close());
  const registry = await startTestRegistry({
    s3,
    config: { storage: { s3: { endpoint: proxy.url, redirect: true } } },
  });
  defer(() => registry.close());
  const { docker } = await startDockerSession(defer);
  const login = await docker.login(registry.host, 'admin', 'secret');
  if (login.code !== 0) throw new Error(`docker login failed: ${login.stderr}`);
  defer(() => docker.run(['rmi', '--force', `${registry.host}/${name}:v1`]));
  return { registry, proxy, docker };
});

beforeAll(() => env.settle()); // a failed setup fails each test, with its message
afterAll(() => env.teardown());

describe('S3 redirect with the Docker CLI', () => {
  test('docker pull follows the 307 of each layer to S3 and gets the image', async () => {
    const { registry, proxy, docker } = await env.get();
    const image = buildImage({
      layers: [{ 'a.txt': 'first layer, fetched from S3' }, { 'b.txt': 'second layer, also from S3' }],
      format: 'docker',
    });
    await pushImage(registry, name, image, 'v1');
    const before = proxy.requests.length;

    await docker.ok(['pull', `${registry.host}/${name}:v1`]);

    const fetched = proxy.requests
      .slice(before)
      .filter((r) => r.startsWith('GET ') && r.includes('/blobs/sha256/'));
    for (const layer of image.layers) {
      expect(fetched.some((r) => r.endsWith(`/blobs/sha256/${layer.digest.slice(7)}`))).toBe(true);
    }
    const metrics = await (await fetch(`${registry.url}/metrics`)).text();
    expect(metrics).toMatch(/registry_http_requests_total\{route="blob",method="GET",status="307"\} [1-9]/);
    const [inspected] = JSON.parse(await docker.ok(['image', 'inspect', `${registry.host}/${name}:v1`])) as {
      Id: string;
    }[];
    expect(inspected?.Id).toBe(image.config.digest);
  });
});
