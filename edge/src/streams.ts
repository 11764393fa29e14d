// Byte-stream helpers for serving parts of cached chunks.

/**
 * The `take` bytes of `source` after its first `skip`; the rest of the source is cancelled once
 * they are through (a tee's other branch then goes on alone).
 */
export function sliceStream(
  source: ReadableStream<Uint8Array>,
  skip: number,
  take: number,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let toSkip = skip;
  let left = take;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (left > 0) {
        const { done, value } = await reader.read();
        if (done) {
          controller.error(new Error(`stream ended ${left} bytes short`));
          return;
        }
        let bytes = value;
        if (toSkip > 0) {
          if (bytes.byteLength <= toSkip) {
            toSkip -= bytes.byteLength;
            continue;
          }
          bytes = bytes.subarray(toSkip);
          toSkip = 0;
        }
        if (bytes.byteLength > left) bytes = bytes.subarray(0, left);
        left -= bytes.byteLength;
        controller.enqueue(bytes);
        if (left > 0) return;
      }
      await reader.cancel().catch(() => {});
      controller.close();
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  });
}
