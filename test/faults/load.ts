// The load of the fault suite: clients that each push a small image (config and 2–3 random layers,
// uploaded monolithically or in a POST, PATCH, PUT session; the manifest by tag), then pull back
// one of the images acknowledged so far and compare it byte for byte. Every request is recorded
// with its timing and how it ended, for the suite to judge what a fault did to the answers.
import { randomBytes, randomInt } from 'node:crypto';
import { OCI_MANIFEST, sha256 } from '../harness/client.ts';

/** No request of the load may take longer than this: past it, it counts as a hang. */
export const CLIENT_TIMEOUT_MS = 15_000;

const AUTH = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';

/**
 * How a request ended: answered (with its status, and the OCI error code of a JSON error body,
 * `null` if the body is not one), or without an answer: refused (nothing listening), reset (the
 * connection dropped before an answer), cut (an answer whose body broke off), timeout.
 */
export type Ending =
  | { readonly kind: 'answered'; readonly status: number; readonly code: string | null | undefined }
  | { readonly kind: 'refused' | 'reset' | 'cut' | 'timeout'; readonly detail: string };

export interface RequestRecord {
  readonly what: string;
  readonly start: number;
  readonly end: number;
  readonly ending: Ending;
  /** An answer that was 2xx but not what it should be (another image's bytes, a wrong digest). */
  readonly wrong?: string;
}

/** An image whose manifest PUT was answered 201. */
export interface AcknowledgedImage {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly manifest: Uint8Array;
  readonly blobs: ReadonlyMap<string, Uint8Array>;
}

export const now = (): number => performance.now();

export const isSuccess = (r: RequestRecord): boolean =>
  r.ending.kind === 'answered' && r.ending.status >= 200 && r.ending.status < 300 && r.wrong === undefined;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export class Load {
  readonly requests: RequestRecord[] = [];
  readonly acknowledged: AcknowledgedImage[] = [];
  private readonly url: string;
  private readonly label: string;
  private running: Promise<void>[] = [];
  private stopping = false;

  constructor(url: string, label: string) {
    this.url = url;
    this.label = label;
  }

  start(clients: number): void {
    this.stopping = false;
    this.running = Array.from({ length: clients }, (_, client) => this.client(client));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  private async client(client: number): Promise<void> {
    // Four repositories shared by the clients: pushes to one contend for its rows.
    const repository = `faults/repo-${client % 4}`;
    for (let round = 0; !this.stopping; round++) {
      const pushed = await this.push(repository, `${this.label}-${client}-${round}`);
      const pulled = await this.pullOne();
      // A failed cycle pauses a moment: a client does not hammer a registry that is down.
      if (!pushed || !pulled) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async push(repository: string, tag: string): Promise<boolean> {
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }),
    );
    const layers = Array.from({ length: randomInt(2, 4) }, () => randomBytes(randomInt(1024, 32 * 1024)));
    const blobs = new Map<string, Uint8Array>();
    for (const [i, bytes] of [config, ...layers].entries()) {
      const digest = sha256(bytes);
      const stored =
        i % 2 === 0
          ? await this.pushMonolithic(repository, digest, bytes)
          : await this.pushInSession(repository, digest, bytes);
      if (!stored) return false;
      blobs.set(digest, bytes);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: CONFIG_TYPE, digest: sha256(config), size: config.byteLength },
        layers: layers.map((bytes) => ({
          mediaType: LAYER_TYPE,
          digest: sha256(bytes),
          size: bytes.byteLength,
        })),
      }),
    );
    const digest = sha256(manifest);
    const put = await this.send('manifest PUT', 'PUT', `/v2/${repository}/manifests/${tag}`, {
      body: manifest,
      headers: { 'Content-Type': OCI_MANIFEST },
      expect: (a) => (a.headers.get('docker-content-digest') === digest ? undefined : 'another digest'),
    });
    if (put?.status !== 201) return false;
    this.acknowledged.push({ repository, tag, digest, manifest, blobs });
    return true;
  }

  private async pushMonolithic(repository: string, digest: string, bytes: Uint8Array): Promise<boolean> {
    const post = await this.send(
      'blob POST ?digest',
      'POST',
      `/v2/${repository}/blobs/uploads/?digest=${digest}`,
      {
        body: bytes,
        headers: { 'Content-Type': 'application/octet-stream' },
      },
    );
    return post?.status === 201;
  }

  private async pushInSession(repository: string, digest: string, bytes: Uint8Array): Promise<boolean> {
    const post = await this.send('upload POST', 'POST', `/v2/${repository}/blobs/uploads/`, {});
    const location = post?.status === 202 ? post.headers.get('location') : null;
    if (!location) return false;
    const patch = await this.send('upload PATCH', 'PATCH', location, {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${bytes.byteLength - 1}` },
    });
    const next = patch?.status === 202 ? patch.headers.get('location') : null;
    if (!next) return false;
    const put = await this.send(
      'upload PUT',
      'PUT',
      `${next}${next.includes('?') ? '&' : '?'}digest=${digest}`,
      {},
    );
    return put?.status === 201;
  }

  /** Pulls a random acknowledged image: manifest by tag, then each blob, compared byte for byte. */
  private async pullOne(): Promise<boolean> {
    const image = this.acknowledged[randomInt(0, Math.max(1, this.acknowledged.length))];
    if (!image) return true;
    const manifest = await this.send(
      'manifest GET',
      'GET',
      `/v2/${image.repository}/manifests/${image.tag}`,
      {
        headers: { Accept: OCI_MANIFEST },
        expect: (a) => (Buffer.from(a.body).equals(image.manifest) ? undefined : 'another manifest'),
      },
    );
    if (manifest?.status !== 200) return false;
    for (const [digest, bytes] of image.blobs) {
      const blob = await this.send('blob GET', 'GET', `/v2/${image.repository}/blobs/${digest}`, {
        expect: (a) => (Buffer.from(a.body).equals(bytes) ? undefined : 'other bytes'),
      });
      if (blob?.status !== 200) return false;
    }
    return true;
  }

  /** One request, recorded; the answer if there was one (2xx only when it was also the right one). */
  private async send(
    what: string,
    method: string,
    at: string,
    options: {
      body?: Uint8Array;
      headers?: Record<string, string>;
      expect?: (a: Answer) => string | undefined;
    },
  ): Promise<Answer | undefined> {
    const start = now();
    const { ending, answer } = await request(`${this.url}${at}`, method, options.body, options.headers);
    const ok = answer !== undefined && answer.status >= 200 && answer.status < 300;
    const wrong = ok && options.expect ? options.expect(answer) : undefined;
    this.requests.push({ what, start, end: now(), ending, ...(wrong ? { wrong } : {}) });
    return wrong ? undefined : answer;
  }
}

/** A request with the client timeout, and how it ended. */
export async function request(
  url: string,
  method: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
  init: Record<string, unknown> = {},
): Promise<{ ending: Ending; answer?: Answer }> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      method,
      headers: { Authorization: AUTH, ...headers },
      ...(body ? { body: body as BodyInit } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
  } catch (error) {
    return { ending: unanswered(error, 'reset') };
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return { ending: unanswered(error, 'cut') };
  }
  const answer = { status: response.status, headers: response.headers, body: bytes };
  return {
    ending: { kind: 'answered', status: response.status, code: ociErrorCode(response, bytes) },
    answer,
  };
}

function unanswered(error: unknown, otherwise: 'reset' | 'cut'): Ending {
  const detail = describe(error);
  if ((error as Error).name === 'TimeoutError') return { kind: 'timeout', detail };
  if (detail.includes('ECONNREFUSED')) return { kind: 'refused', detail };
  return { kind: otherwise, detail };
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    parts.push(`${e.name}: ${e.message}${'code' in e ? ` (${String(e.code)})` : ''}`);
  return parts.join(' <- ') || String(error);
}

/** The code of an OCI error body (`{"errors":[{"code":…}]}`); null when the body is not one; undefined for a 2xx. */
function ociErrorCode(response: Response, body: Uint8Array): string | null | undefined {
  if (response.status < 300) return undefined;
  if (!response.headers.get('content-type')?.startsWith('application/json')) return null;
  try {
    const parsed = JSON.parse(Buffer.from(body).toString()) as {
      errors?: { code?: unknown; message?: unknown }[];
    };
    const first = parsed.errors?.[0];
    return typeof first?.code === 'string' && typeof first.message === 'string' ? first.code : null;
  } catch {
    return null;
  }
}
