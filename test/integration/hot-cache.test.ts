import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotObjectCache } from '../../src/origin/hot-cache.js';
import { Metrics } from '../../src/origin/metrics.js';
import { CascadeError } from '../../src/shared/errors.js';
import { SingleFlight, SingleFlightTimeoutError } from '../../src/shared/single-flight.js';
import { FileStore, ObjectNotFoundError } from '../../src/storage/index.js';

describe('single flight', () => {
  it('shares one execution and fans its error out to every waiter', async () => {
    const sf = new SingleFlight<string, number>(1000);
    let calls = 0;
    const fail = () => sf.run('k', async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('boom');
    });
    const results = await Promise.allSettled([fail(), fail(), fail()]);
    expect(calls).toBe(1);
    expect(results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'boom')).toBe(true);
    // forgotten after the failure: the next call runs again
    await expect(sf.run('k', async () => 7)).resolves.toBe(7);
    expect(sf.size).toBe(0);
  });
  it('times out every waiter and lets the next caller start afresh', async () => {
    const sf = new SingleFlight<string, number>(50);
    const hung = () => sf.run('h', () => new Promise<number>(() => undefined));
    const r = await Promise.allSettled([hung(), hung()]);
    expect(r.every((x) => x.status === 'rejected' && x.reason instanceof SingleFlightTimeoutError)).toBe(true);
    await expect(sf.run('h', async () => 1)).resolves.toBe(1);
  });
});

describe('hot object cache', () => {
  let dir: string;
  let store: FileStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-hot-'));
    store = new FileStore(dir);
    await store.put('obj', Buffer.alloc(10_000, 7), 10_000);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('evicts by bytes (LRU) and never holds more than its budget', async () => {
    const metrics = new Metrics();
    const hot = new HotObjectCache(store, { maxBytes: 3000, maxObjectBytes: 2000, loadTimeoutMs: 1000, negativeTtlMs: 1000 }, metrics);
    const reads = metrics.counter('cascade_storage_reads_total', '');
    await hot.get('obj', 0, 1000);
    await hot.get('obj', 1000, 1000);
    await hot.get('obj', 2000, 1000);
    expect(reads.get()).toBe(3);
    await hot.get('obj', 0, 1000); // hit, now most recent
    expect(reads.get()).toBe(3);
    await hot.get('obj', 3000, 1000); // evicts the least recent: 1000..1999
    await hot.get('obj', 0, 1000);
    expect(reads.get()).toBe(4);
    await hot.get('obj', 1000, 1000);
    expect(reads.get()).toBe(5);
    expect(metrics.render()).toMatch(/cascade_hot_cache_bytes 3000/);
    expect(hot.fits(2000)).toBe(true);
    expect(hot.fits(2001)).toBe(false);
  });

  it('caches misses briefly and reports short reads as storage errors', async () => {
    const metrics = new Metrics();
    const hot = new HotObjectCache(store, { maxBytes: 100_000, maxObjectBytes: 100_000, loadTimeoutMs: 1000, negativeTtlMs: 100 }, metrics);
    const reads = metrics.counter('cascade_storage_reads_total', '');
    await expect(hot.get('nope', 0, 10)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(hot.get('nope', 0, 10)).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(reads.get()).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    await expect(hot.get('nope', 0, 10)).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(reads.get()).toBe(2);
    await expect(hot.get('obj', 9990, 100)).rejects.toBeInstanceOf(CascadeError);
  });
});
