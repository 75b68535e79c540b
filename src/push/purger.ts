/**
 * Purges from every edge the objects of title versions that changed or went away: the catalog's
 * invalidations (deleted titles, pruned versions, a new current version) in the background, and
 * `POST /api/v1/titles/{id}/purge` on demand. Each edge purges by URL (Varnish PURGE), by prefix
 * (BAN, nginx cache_purge) or by key (S3); retryable failures are retried with back-off.
 */
import type { Invalidation } from '../catalog/catalog.js';
import { playbackPaths, type TitleTimeline } from '../packager/index.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import { backoffMs, EdgeError, type Edge } from './edge.js';

export interface PurgeResult { name: string; purged: number; error?: { code: string; message: string } }

export class Purger {
  /** Background purges, awaited on close. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly edges: Iterable<Edge>,
    private readonly opts: { timeoutMs: number; maxAttempts: number; retryBaseMs: number },
    private readonly log: Logger,
  ) {}

  /** Every URL path of a title version that an edge may hold. */
  static pathsOf(t: TitleTimeline): string[] {
    const dir = `/vod/${t.titleId}/${t.version}`;
    const paths = [`${dir}/${playbackPaths.multivariant}`, `${dir}/${playbackPaths.mpd}`];
    for (const r of t.renditions) {
      paths.push(`${dir}/${playbackPaths.mediaPlaylist(r.id)}`, `${dir}/${r.id}/${playbackPaths.init}`);
      for (const s of r.segments) paths.push(`${dir}/${r.id}/${playbackPaths.segment(s.number)}`);
    }
    return paths;
  }

  /** Purges a title's objects (the given versions, and its unversioned redirects if `aliases`) from every edge. */
  async purge(titleId: string, versions: TitleTimeline[], aliases: boolean, signal = new AbortController().signal): Promise<PurgeResult[]> {
    const results: PurgeResult[] = [];
    for (const edge of this.edges) {
      let purged = 0;
      let error: PurgeResult['error'];
      try {
        const ctx = { signal, timeoutMs: this.opts.timeoutMs };
        // The unversioned URLs (short-lived redirects to the current version).
        if (aliases) for (const alias of [playbackPaths.multivariant, playbackPaths.mpd]) purged += await this.withRetries(() => edge.purge([`/vod/${titleId}/${alias}`], `/vod/${titleId}/${alias}`, ctx), signal);
        for (const t of versions) purged += await this.withRetries(() => edge.purge(Purger.pathsOf(t), `/vod/${titleId}/${t.version}/`, ctx), signal);
      } catch (err) {
        error = { code: (err as EdgeError).code ?? 'EDGE_UNREACHABLE', message: (err as Error).message };
        this.log.warn({ edge: edge.config.name, titleId, error }, 'purge failed');
      }
      results.push({ name: edge.config.name, purged, ...(error ? { error } : {}) });
    }
    return results;
  }

  /** A catalog change, purged in the background (a delete must not wait for every edge). */
  invalidated(i: Invalidation): void {
    const p = this.purge(i.titleId, i.versions, i.aliasChanged).then((res) => this.log.info({ titleId: i.titleId, versions: i.versions.map((v) => v.version), edges: res }, 'edges purged'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async withRetries<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof EdgeError) || !err.retryable || attempt >= this.opts.maxAttempts || signal.aborted) throw err;
        await sleep(backoffMs(this.opts.retryBaseMs, attempt), signal);
      }
    }
  }
}
