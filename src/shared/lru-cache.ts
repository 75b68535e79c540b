/** A small LRU map bounded by entry count and, optionally, by a size measure (bytes). */
export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; size: number }>();
  private total = 0;
  constructor(private readonly opts: { maxEntries: number; maxSize?: number; sizeOf?: (v: V) => number }) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: K, value: V): void {
    const size = this.opts.sizeOf?.(value) ?? 1;
    if (this.opts.maxSize !== undefined && size > this.opts.maxSize) return;
    this.delete(key);
    this.map.set(key, { value, size });
    this.total += size;
    while (this.map.size > this.opts.maxEntries || (this.opts.maxSize !== undefined && this.total > this.opts.maxSize)) {
      const oldest = this.map.keys().next().value as K;
      this.delete(oldest);
    }
  }

  delete(key: K): void {
    const e = this.map.get(key);
    if (e) {
      this.total -= e.size;
      this.map.delete(key);
    }
  }

  keys(): K[] {
    return [...this.map.keys()];
  }

  get size(): number {
    return this.map.size;
  }

  /** Sum of the sizes of the entries held. */
  get totalSize(): number {
    return this.total;
  }
}
