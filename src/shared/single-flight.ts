/**
 * Single-flight: concurrent calls for the same key share one execution and its
 * outcome (value or error, fanned out to every waiter). A call that outlives
 * `timeoutMs` fails for all its waiters and is forgotten, so the next caller
 * starts afresh instead of queueing behind a hung backend.
 */
export class SingleFlightTimeoutError extends Error {
  constructor(readonly key: string, ms: number) {
    super(`no answer for ${key} within ${ms} ms`);
    this.name = 'SingleFlightTimeoutError';
  }
}

export class SingleFlight<K, V> {
  private readonly inflight = new Map<K, Promise<V>>();
  /** Calls that joined an execution already under way. */
  joined = 0;

  constructor(private readonly timeoutMs: number) {}

  run(key: K, fn: () => Promise<V>): Promise<V> {
    const existing = this.inflight.get(key);
    if (existing) {
      this.joined++;
      return existing;
    }
    let timer: NodeJS.Timeout | undefined;
    const p = Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SingleFlightTimeoutError(String(key), this.timeoutMs)), this.timeoutMs);
        timer.unref();
      }),
    ]).finally(() => {
      clearTimeout(timer);
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    });
    this.inflight.set(key, p);
    return p;
  }

  get size(): number {
    return this.inflight.size;
  }
}
