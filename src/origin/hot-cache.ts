/**
 * The hot object cache between playback routes and storage: a byte-bounded LRU
 * of media slices, single-flight loading (N concurrent cold requests → one
 * storage read), and short negative caching of missing objects.
 */
import { createError } from '../shared/errors.js';
import { LruCache } from '../shared/lru-cache.js';
import { SingleFlight, SingleFlightTimeoutError } from '../shared/single-flight.js';
import { ObjectNotFoundError, type ObjectStore } from '../storage/index.js';
import type { Metrics } from './metrics.js';

export interface HotCacheOptions {
  maxBytes: number;
  /** Slices above this are streamed from storage, never held in memory. */
  maxObjectBytes: number;
  loadTimeoutMs: number;
  negativeTtlMs: number;
}

export class HotObjectCache {
  private readonly cache: LruCache<string, Buffer>;
  private readonly missing: LruCache<string, number>;
  private readonly flight: SingleFlight<string, Buffer>;
  private readonly hits;
  private readonly misses;
  private readonly coalesced;
  private readonly storageReads;
  private readonly storageErrors;

  constructor(
    private readonly store: ObjectStore,
    readonly opts: HotCacheOptions,
    metrics: Metrics,
  ) {
    this.cache = new LruCache({ maxEntries: 1_000_000, maxSize: opts.maxBytes, sizeOf: (b) => b.length });
    this.missing = new LruCache({ maxEntries: 100_000 });
    this.flight = new SingleFlight(opts.loadTimeoutMs);
    this.hits = metrics.counter('cascade_hot_cache_hits_total', 'Media slices answered from memory');
    this.misses = metrics.counter('cascade_hot_cache_misses_total', 'Media slices not in memory');
    this.coalesced = metrics.counter('cascade_coalesced_requests_total', 'Requests that joined a storage read already under way');
    this.storageReads = metrics.counter('cascade_storage_reads_total', 'Storage reads for media slices');
    this.storageErrors = metrics.counter('cascade_storage_errors_total', 'Failed storage reads for media slices');
    metrics.gauge('cascade_hot_cache_bytes', () => this.cache.totalSize);
  }

  fits(size: number): boolean {
    return size <= this.opts.maxObjectBytes && size <= this.opts.maxBytes;
  }

  /** Bytes [offset, offset+size) of `key`, from memory or from one shared storage read. */
  async get(key: string, offset: number, size: number): Promise<Buffer> {
    const id = `${key}@${offset}+${size}`;
    const hit = this.cache.get(id);
    if (hit) {
      this.hits.inc();
      return hit;
    }
    const until = this.missing.get(id);
    if (until !== undefined && until > Date.now()) throw new ObjectNotFoundError(key);
    this.misses.inc();
    const before = this.flight.joined;
    const p = this.flight.run(id, async () => {
      this.storageReads.inc();
      try {
        const obj = await this.store.get(key, { start: offset, end: offset + size - 1 });
        const parts: Buffer[] = [];
        for await (const c of obj.body) parts.push(c as Buffer);
        const buf = Buffer.concat(parts);
        if (buf.length !== size) throw createError('STORAGE_ERROR', `storage returned ${buf.length} of ${size} bytes for ${key}`);
        this.cache.set(id, buf);
        return buf;
      } catch (err) {
        this.storageErrors.inc();
        if (err instanceof ObjectNotFoundError) this.missing.set(id, Date.now() + this.opts.negativeTtlMs);
        throw err;
      }
    });
    if (this.flight.joined > before) this.coalesced.inc();
    try {
      return await p;
    } catch (err) {
      if (err instanceof SingleFlightTimeoutError) throw createError('STORAGE_TIMEOUT', `storage did not answer within ${this.opts.loadTimeoutMs} ms`);
      throw err;
    }
  }
}
