/**
 * Published titles in the object store. Layout:
 *   titles/{id}/{version}/{rendition}.mp4   CMAF track files
 *   titles/{id}/{version}/timeline.json     the timeline model (the title index)
 *   titles/{id}/current.json                {version, publishedAt}: written last
 * A version becomes visible only when current.json names it, so a reader never
 * sees a half-published title.
 */
import type { TitleTimeline } from '../packager/index.js';
import type { Logger } from '../shared/logger.js';
import { ObjectNotFoundError, StorageError, type ObjectStore } from '../storage/index.js';
import { LruCache } from '../shared/lru-cache.js';
import { SingleFlight } from '../shared/single-flight.js';
import { createError } from '../shared/errors.js';

export interface CurrentPointer { version: string; publishedAt: string }

export interface PublishFile { rendition: string; path: string; kind: 'video' | 'audio' }

/**
 * Versions kept per title: the current one and the one before (players may be mid-way through it).
 * Pruning is safe because the ingest service never runs two jobs of one title at once.
 */
const KEEP_VERSIONS = 2;
const POINTER_TTL_MS = 1000;

export const titleKeys = {
  prefix: (id: string): string => `titles/${id}/`,
  versionPrefix: (id: string, version: string): string => `titles/${id}/${version}/`,
  track: (id: string, version: string, object: string): string => `titles/${id}/${version}/${object}`,
  timeline: (id: string, version: string): string => `titles/${id}/${version}/timeline.json`,
  current: (id: string): string => `titles/${id}/current.json`,
  release: (id: string): string => `titles/${id}/release.json`,
};

/**
 * Versions that players will no longer reach: all of a deleted title's, or those a publish pruned.
 * `aliasChanged`: the unversioned URLs now point elsewhere (a new version, or nothing).
 */
export interface Invalidation { titleId: string; versions: TitleTimeline[]; aliasChanged: boolean; deleted: boolean }

export class Catalog {
  private readonly timelines = new LruCache<string, TitleTimeline>({ maxEntries: 512 });
  private readonly timelineFlight = new SingleFlight<string, TitleTimeline | undefined>(10_000);
  // Bounded: hostile requests for random title ids must not grow memory.
  private readonly pointers = new LruCache<string, { value: CurrentPointer | undefined; at: number }>({ maxEntries: 10_000 });

  private readonly invalidationListeners: Array<(i: Invalidation) => void> = [];

  constructor(
    readonly store: ObjectStore,
    private readonly log: Logger,
  ) {}

  /** Called after a publish or a delete leaves objects that edges may still hold. */
  onInvalidate(listener: (i: Invalidation) => void): void {
    this.invalidationListeners.push(listener);
  }

  private invalidated(i: Invalidation): void {
    for (const l of this.invalidationListeners) l(i);
  }

  /** Timelines of the versions stored for a title (read before they are deleted). */
  private async storedTimelines(id: string, versions: Iterable<string>): Promise<TitleTimeline[]> {
    const out: TitleTimeline[] = [];
    for (const v of versions) {
      const t = await this.timeline(id, v).catch(() => undefined);
      if (t) out.push(t);
    }
    return out;
  }

  private async storedVersions(id: string): Promise<Set<string>> {
    const versions = new Set<string>();
    for await (const o of this.store.list(titleKeys.prefix(id))) {
      const rest = o.key.slice(titleKeys.prefix(id).length);
      if (rest.includes('/')) versions.add(rest.split('/')[0]);
    }
    return versions;
  }

  /** The release time of a title (ISO), if one is set: pushes always include upcoming releases. */
  async release(id: string): Promise<string | undefined> {
    try {
      return (JSON.parse((await this.store.getBuffer(titleKeys.release(id))).toString('utf8')) as { releaseAt?: string }).releaseAt;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  async setRelease(id: string, releaseAt: string | undefined): Promise<void> {
    if (releaseAt === undefined) return this.store.delete(titleKeys.release(id));
    const b = Buffer.from(JSON.stringify({ releaseAt }));
    await this.store.put(titleKeys.release(id), b, b.length, 'application/json');
  }

  /** Stores the tracks, then the timeline, then the pointer. On failure, removes what it stored. */
  async publish(timeline: TitleTimeline, files: PublishFile[], signal?: AbortSignal): Promise<void> {
    const { titleId: id, version } = timeline;
    try {
      for (const f of files) {
        signal?.throwIfAborted();
        await this.store.putFile(titleKeys.track(id, version, `${f.rendition}.mp4`), f.path, f.kind === 'video' ? 'video/mp4' : 'audio/mp4');
      }
      signal?.throwIfAborted();
      const json = Buffer.from(JSON.stringify(timeline));
      await this.store.put(titleKeys.timeline(id, version), json, json.length, 'application/json');
      signal?.throwIfAborted();
      const previous = await this.current(id, true);
      const pointer: CurrentPointer = { version, publishedAt: timeline.publishedAt };
      const pj = Buffer.from(JSON.stringify(pointer));
      await this.store.put(titleKeys.current(id), pj, pj.length, 'application/json');
      this.pointers.set(id, { value: pointer, at: Date.now() });
      if (previous) {
        const pruned = await this.pruneVersions(id, [version, previous.version]);
        this.invalidated({ titleId: id, versions: pruned, aliasChanged: true, deleted: false });
      }
    } catch (err) {
      const prefix = titleKeys.versionPrefix(id, version);
      await this.store.deletePrefix(prefix).catch((e: unknown) => {
        // The store is likely down: the leftovers are removed once it answers again.
        this.debris.add(prefix);
        this.log.error({ err: e, id, version }, 'cleanup of a failed publish failed; retried later');
      });
      // The object store failed: say so. Anything else (a full local disk, a cancel) keeps its own code.
      if (err instanceof StorageError) throw createError('STORAGE_ERROR', `storing title ${id} failed (nothing was published): ${err.message}`);
      throw err;
    }
  }

  /** Version prefixes of failed publishes whose cleanup failed too (never referenced by a pointer). */
  private readonly debris = new Set<string>();

  /** Retries the cleanups that failed; returns how many prefixes are still left. */
  async retryCleanups(): Promise<number> {
    for (const prefix of [...this.debris]) {
      try {
        await this.store.deletePrefix(prefix);
        this.debris.delete(prefix);
        this.log.info({ prefix }, 'leftovers of a failed publish removed');
      } catch {
        break; // still down: try again at the next round
      }
    }
    return this.debris.size;
  }

  /** Deletes versions beyond the newest KEEP_VERSIONS; returns their timelines. */
  private async pruneVersions(id: string, keep: string[]): Promise<TitleTimeline[]> {
    const versions = await this.storedVersions(id);
    const stale = [...versions].filter((v) => !keep.includes(v)).sort();
    const doomed = stale.slice(0, Math.max(0, versions.size - KEEP_VERSIONS));
    const timelines = await this.storedTimelines(id, doomed);
    for (const v of doomed) {
      await this.store.deletePrefix(titleKeys.versionPrefix(id, v));
      this.log.info({ id, version: v }, 'pruned old title version');
    }
    return timelines;
  }

  async current(id: string, fresh = false): Promise<CurrentPointer | undefined> {
    const cached = this.pointers.get(id);
    if (!fresh && cached && Date.now() - cached.at < POINTER_TTL_MS) return cached.value;
    let value: CurrentPointer | undefined;
    try {
      value = JSON.parse((await this.store.getBuffer(titleKeys.current(id))).toString('utf8')) as CurrentPointer;
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
    this.pointers.set(id, { value, at: Date.now() });
    return value;
  }

  /** Timelines are immutable per version, so they are cached without expiry (bounded LRU). */
  async timeline(id: string, version: string): Promise<TitleTimeline | undefined> {
    const k = `${id}/${version}`;
    const hit = this.timelines.get(k);
    if (hit) return hit;
    // A cold manifest stampede reads the index once.
    return this.timelineFlight.run(k, async () => {
      try {
        const t = JSON.parse((await this.store.getBuffer(titleKeys.timeline(id, version))).toString('utf8')) as TitleTimeline;
        this.timelines.set(k, t);
        return t;
      } catch (err) {
        if (err instanceof ObjectNotFoundError) return undefined;
        throw err;
      }
    });
  }

  async currentTimeline(id: string): Promise<TitleTimeline | undefined> {
    const p = await this.current(id);
    return p ? this.timeline(id, p.version) : undefined;
  }

  async listIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.store.list('titles/')) {
      const m = /^titles\/([^/]+)\/current\.json$/.exec(o.key);
      if (m) ids.push(m[1]);
    }
    return ids;
  }

  /** Removes the pointer first (the title disappears at once), then the objects. */
  async delete(id: string): Promise<boolean> {
    const existed = (await this.current(id, true)) !== undefined;
    const timelines = await this.storedTimelines(id, await this.storedVersions(id));
    await this.store.delete(titleKeys.current(id));
    this.pointers.set(id, { value: undefined, at: Date.now() });
    await this.store.deletePrefix(titleKeys.prefix(id));
    for (const k of this.timelines.keys()) if (k.startsWith(`${id}/`)) this.timelines.delete(k);
    this.invalidated({ titleId: id, versions: timelines, aliasChanged: true, deleted: true });
    return existed;
  }

  async deleteVersion(id: string, version: string): Promise<void> {
    const cur = await this.current(id, true);
    if (cur?.version === version) return;
    await this.store.deletePrefix(titleKeys.versionPrefix(id, version));
  }
}
