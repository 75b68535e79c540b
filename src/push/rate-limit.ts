import { sleep as abortableSleep } from '../shared/sleep.js';

/**
 * A byte-rate cap (token bucket): `take(n)` resolves when n bytes may be sent. Capacity is one
 * second of rate, so a burst never exceeds it; an object bigger than that waits for its share.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly bytesPerSec: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
  ) {
    this.tokens = bytesPerSec;
    this.last = now();
  }

  /** Waits (in order of calls) until `bytes` fit the rate. A cap of 0 means none. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.bytesPerSec <= 0) return Promise.resolve();
    const run = async (): Promise<void> => {
      const t = this.now();
      this.tokens = Math.min(this.bytesPerSec, this.tokens + ((t - this.last) / 1000) * this.bytesPerSec);
      this.last = t;
      this.tokens -= bytes;
      if (this.tokens < 0) await this.sleep((-this.tokens / this.bytesPerSec) * 1000, signal);
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }
}
