// Requests of one isolate asking origin the same question at the same time share one answer.
// Only answers the caller marks shareable are shared (another client's refusal is its own);
// the others ask again themselves. A waiter gives up after `maxWaitMs` and asks itself: a
// promise begun by another request may never settle if that request is cancelled. That wait is
// wall-clock time, not the edge's Clock (clock.ts): it bounds a request really in flight.

interface Flight {
  readonly promise: Promise<unknown>;
  readonly started: number;
}

const flights = new Map<string, Flight>();

async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ settled: true; value: T } | { settled: false }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<{ settled: false }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ settled: true as const, value }),
        () => ({ settled: false as const }),
      ),
      timeout,
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

export async function singleFlight<T>(
  key: string,
  maxWaitMs: number,
  run: () => Promise<T>,
  shareable: (result: T) => boolean,
): Promise<T> {
  const now = Date.now();
  const flight = flights.get(key);
  if (flight && now - flight.started < maxWaitMs) {
    const result = await within(flight.promise as Promise<T>, maxWaitMs - (now - flight.started));
    if (result.settled && shareable(result.value)) return result.value;
    return run();
  }
  const promise = run();
  const mine: Flight = { promise, started: now };
  flights.set(key, mine);
  try {
    return await promise;
  } finally {
    if (flights.get(key) === mine) flights.delete(key);
  }
}
