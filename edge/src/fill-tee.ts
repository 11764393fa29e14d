// Streams a chunk from origin to the client while writing it into the cache, in bounded memory.
//
// A plain tee() will not do: in workerd it buffers whatever the slower branch has not read (a
// client slower than origin would hold most of a 64 MiB chunk in the isolate's memory), and a
// tee paced by its slower branch would let one slow client hold up the fill that every other
// request for the chunk is waiting for. Here the cache sets the pace; the client may lag behind
// by up to `lagLimit` bytes, and a client that falls further behind is detached: once the fill
// completes it reads the rest of the chunk back from the cache. If the cache write fails, the
// client is served from origin alone (then at its own pace).

export interface FillTee {
  /** The whole chunk, for the requesting client. */
  readonly client: ReadableStream<Uint8Array>;
  /** Settles true once the cache holds the whole chunk, false if the fill failed. */
  readonly filled: Promise<boolean>;
}

export interface FillTeeOptions {
  readonly source: ReadableStream<Uint8Array>;
  /** The chunk's length: the cache is given exactly this many bytes or nothing. */
  readonly length: number;
  /** Stores the chunk; rejects when it could not (see EdgeCache.put). */
  readonly store: (body: ReadableStream<Uint8Array>) => Promise<void>;
  /** The stored chunk from `offset` to its end, once `filled` is true. */
  readonly readBack: (offset: number) => Promise<ReadableStream<Uint8Array> | undefined>;
  readonly lagLimit: number;
}

export function fillTee(options: FillTeeOptions): FillTee {
  const { source, length, store, readBack, lagLimit } = options;
  const toCache = new FixedLengthStream(length);
  const cacheWriter = toCache.writable.getWriter();
  const filled = store(toCache.readable).then(
    () => true,
    () => false,
  );

  const queue: Uint8Array[] = [];
  let queued = 0;
  /** Bytes the client was given live; after detaching, it reads on from here. */
  let handedOver = 0;
  let detached = false;
  let cacheFailed = false;
  let clientGone = false;
  let sourceDone = false;
  let sourceError: unknown;
  let dataWaiter: (() => void) | undefined;
  let spaceWaiter: (() => void) | undefined;
  const dataArrived = () => {
    dataWaiter?.();
    dataWaiter = undefined;
  };
  const spaceFreed = () => {
    spaceWaiter?.();
    spaceWaiter = undefined;
  };

  void (async () => {
    const reader = source.getReader();
    try {
      for (;;) {
        if (clientGone && cacheFailed) {
          await reader.cancel();
          return;
        }
        const { done, value } = await reader.read();
        if (done) break;
        if (!clientGone && !detached) {
          // Without a cache to read back from, the client sets the pace.
          while (cacheFailed && queued > 0 && queued + value.byteLength > lagLimit && !clientGone) {
            await new Promise<void>((resolve) => {
              spaceWaiter = resolve;
            });
          }
          if (queued === 0 || queued + value.byteLength <= lagLimit || cacheFailed) {
            queue.push(value.slice());
            queued += value.byteLength;
            handedOver += value.byteLength;
            dataArrived();
          } else {
            detached = true;
            dataArrived();
          }
        }
        if (!cacheFailed) {
          try {
            await cacheWriter.write(value);
          } catch {
            cacheFailed = true;
          }
        }
      }
      sourceDone = true;
      if (!cacheFailed) await cacheWriter.close();
    } catch (error) {
      sourceError = error ?? new Error('origin stream failed');
      await cacheWriter.abort(sourceError).catch(() => {});
      await reader.cancel(sourceError).catch(() => {});
    } finally {
      dataArrived();
    }
  })();

  let backReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const client = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const next = queue.shift();
        if (next) {
          queued -= next.byteLength;
          spaceFreed();
          controller.enqueue(next);
          return;
        }
        if (backReader) {
          const { done, value } = await backReader.read();
          if (done) controller.close();
          else controller.enqueue(value);
          return;
        }
        if (detached) {
          const stream = (await filled) ? await readBack(handedOver) : undefined;
          if (!stream) {
            controller.error(new Error('the chunk could not be read back from the cache'));
            return;
          }
          backReader = stream.getReader();
          continue;
        }
        if (sourceError !== undefined) {
          controller.error(sourceError);
          return;
        }
        if (sourceDone) {
          controller.close();
          return;
        }
        await new Promise<void>((resolve) => {
          dataWaiter = resolve;
        });
      }
    },
    async cancel(reason) {
      clientGone = true;
      queue.length = 0;
      queued = 0;
      spaceFreed();
      await backReader?.cancel(reason).catch(() => {});
    },
  });

  return { client, filled };
}
