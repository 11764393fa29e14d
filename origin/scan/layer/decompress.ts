// A layer blob as tar bytes: gzip or zstd are recognised by their magic numbers (media types lie
// often enough that the bytes are the better witness) and inflated with node:zlib; anything else
// is taken as plain tar. Two limits stop decompression bombs before they cost more than a few
// seconds: a cap on the bytes produced, and a cap on how much each compressed byte may expand to.
import { pipeline, Readable } from 'node:stream';
import { constants, createGunzip, createZstdDecompress } from 'node:zlib';

export type LayerFormat = 'gzip' | 'zstd' | 'tar';

export interface DecompressLimits {
  /**
   * Most tar bytes one layer may produce. Default 32 GiB: about twice the largest layers seen in
   * practice (CUDA and model-serving images ship 10–15 GiB layers), while bounding the CPU a
   * hostile layer can take to well under a minute of inflating.
   */
  maxBytes: number;
  /**
   * Most tar bytes per compressed byte, checked once `ratioAfterBytes` have come out. Default
   * 250: real layers compress 2–10×; deflate cannot exceed about 1032×, and a gzip of zeros
   * reaches that, so a bomb trips this within its first few hundred MiB.
   */
  maxRatio: number;
  /** Output below which the ratio is not checked, so small, very compressible layers pass. 256 MiB. */
  ratioAfterBytes: number;
}

export const DEFAULT_DECOMPRESS_LIMITS: DecompressLimits = {
  maxBytes: 32 * 1024 ** 3,
  maxRatio: 250,
  ratioAfterBytes: 256 * 1024 ** 2,
};

/** zstd's own default cap on the window a frame may ask for (128 MiB of decoder memory). */
const ZSTD_WINDOW_LOG_MAX = 27;
const CHUNK = 64 * 1024;

export interface DecompressedLayer {
  /** The tar bytes. When they end early, `failure()` says why. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Known once the first chunk has been read. */
  format(): LayerFormat | undefined;
  /** Why the tar bytes ended early (a limit, corrupt data, a failing source); undefined otherwise. */
  failure(): string | undefined;
  /** Compressed bytes read and tar bytes produced so far. */
  bytesIn(): number;
  bytesOut(): number;
}

export function sniffFormat(head: Uint8Array): LayerFormat {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'tar';
}

/** Wraps a layer blob; nothing is read until `chunks` is iterated. */
export function decompressLayer(
  source: AsyncIterable<Uint8Array>,
  limits: Partial<DecompressLimits> = {},
): DecompressedLayer {
  const l: DecompressLimits = { ...DEFAULT_DECOMPRESS_LIMITS, ...limits };
  let format: LayerFormat | undefined;
  let failure: string | undefined;
  let bytesIn = 0;
  let bytesOut = 0;

  /** Why to stop, once the output so far is over a limit. */
  const overLimit = (): string | undefined => {
    if (bytesOut > l.maxBytes) {
      return `layer decompresses to more than ${l.maxBytes} bytes (the limit); stopped`;
    }
    if (format !== 'tar' && bytesOut > l.ratioAfterBytes && bytesOut > l.maxRatio * bytesIn) {
      return (
        `layer expands more than ${l.maxRatio}:1 (${bytesIn} compressed bytes gave ${bytesOut}); ` +
        'stopped as a likely decompression bomb'
      );
    }
    return undefined;
  };

  async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    let sourceFailure: string | undefined;
    const iterator = source[Symbol.asyncIterator]();
    let input: AsyncGenerator<Uint8Array, void, undefined> | undefined;
    try {
      const head: Uint8Array[] = [];
      let headLength = 0;
      while (headLength < 4) {
        const next = await iterator.next();
        if (next.done) break;
        head.push(next.value);
        headLength += next.value.length;
      }
      const first = head.length === 1 ? head[0]! : Buffer.concat(head);
      format = sniffFormat(first);
      input = counted(
        first,
        iterator,
        (n) => {
          bytesIn += n;
        },
        (error) => {
          sourceFailure = `reading the layer failed: ${message(error)}`;
        },
      );
      if (format === 'tar') {
        for await (const chunk of input) {
          bytesOut += chunk.length;
          failure = overLimit();
          if (failure) return;
          yield chunk;
        }
        return;
      }
      const inflate =
        format === 'gzip'
          ? createGunzip({ chunkSize: CHUNK })
          : createZstdDecompress({
              chunkSize: CHUNK,
              params: { [constants.ZSTD_d_windowLogMax]: ZSTD_WINDOW_LOG_MAX },
            });
      // pipeline() destroys the source when the inflater is destroyed and vice versa.
      pipeline(Readable.from(input, { objectMode: false }), inflate, () => {});
      try {
        for await (const chunk of inflate as AsyncIterable<Buffer>) {
          bytesOut += chunk.length;
          failure = overLimit();
          if (failure) return;
          yield chunk;
        }
      } catch (error) {
        failure = sourceFailure ?? `the ${format} stream is corrupt or cut short: ${message(error)}`;
      } finally {
        inflate.destroy();
      }
    } catch (error) {
      failure = `reading the layer failed: ${message(error)}`;
    } finally {
      // Not awaited: a source blocked in next() may never see the close otherwise.
      if (input) input.return().catch(() => {});
      else iterator.return?.()?.catch(() => {});
    }
  }

  return {
    chunks: { [Symbol.asyncIterator]: chunks },
    format: () => format,
    failure: () => failure,
    bytesIn: () => bytesIn,
    bytesOut: () => bytesOut,
  };
}

/** The sniffed head, then the rest of the source, counting bytes as they pass. */
async function* counted(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
  count: (n: number) => void,
  failed: (error: unknown) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    if (first.length > 0) {
      count(first.length);
      yield first;
    }
    while (true) {
      const next = await rest.next();
      if (next.done) return;
      count(next.value.length);
      yield next.value;
    }
  } catch (error) {
    failed(error);
    throw error;
  } finally {
    rest.return?.()?.catch(() => {});
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
