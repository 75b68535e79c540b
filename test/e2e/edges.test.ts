/**
 * Real edges in front of a real `cascade serve`: Varnish with deploy/varnish/edge.vcl and nginx with
 * deploy/nginx/edge.conf (the files users deploy). The origin's headers make each edge cache what it
 * should, for as long as it should, serve stale while refetching (stale-while-revalidate), and serve
 * stale when the origin process is killed (stale-if-error).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { spawnServe, stopChild } from '../helpers/processes.js';
import { TEST_TOKEN, publishTitle } from '../helpers/server.js';
import { startVarnish } from '../helpers/varnish.js';
import { startNginxEdge } from '../helpers/nginx.js';


interface Edge { url: string; stop(): Promise<void> }

describe.each([
  ['varnish', startVarnish, { hit: ['HIT'], stale: ['HIT'] }],
  ['nginx', startNginxEdge, { hit: ['HIT'], stale: ['STALE', 'UPDATING'] }],
] as const)('%s edge', (_name, startEdge, cache) => {
  let dir: string;
  let origin: ChildProcess;
  let base: string;
  let edgeServer: Edge;
  let title: any;
  let master: string;
  let firstVersion: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-edge-'));
    ({ child: origin, url: base } = await spawnServe(join(dir, 'data'), { env: { CASCADE_API_TOKEN: TEST_TOKEN, CASCADE_LADDER: 'draft' } }));
    master = await makeMaster(join(dir, 'm.mp4'), { seconds: 4, size: '640x360' });
    title = await publishTitle(base, 'edge', master);
    firstVersion = title.version;
    edgeServer = await startEdge(base);
  }, 120_000);

  afterAll(async () => {
    await edgeServer?.stop();
    await stopChild(origin, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const edge = async (path: string): Promise<Response> => {
    const r = await fetch(new URL(path, edgeServer.url), { redirect: 'manual' });
    await r.arrayBuffer();
    return r;
  };

  /** The edge's answer for `path` once it redirects to `location` (3 s at most). */
  const until = async (path: string, location: string): Promise<Response> => {
    let r = await edge(path);
    for (let i = 0; i < 30 && r.headers.get('location') !== location; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await edge(path);
    }
    return r;
  };

  it('second requests are HITs for media, manifests, redirects and short-lived 404s; no-store is never cached', async () => {
    const paths = [`/vod/edge/${title.version}/360p/1.m4s`, `/vod/edge/${title.version}/360p/init.mp4`, title.playback.hls, title.playback.dash, '/vod/edge/master.m3u8', '/vod/nope/v1/master.m3u8'];
    for (const p of paths) {
      expect((await edge(p)).headers.get('x-cache'), p).toBe('MISS');
      expect(cache.hit, p).toContain((await edge(p)).headers.get('x-cache'));
    }
    expect((await edge(paths[0])).headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    for (const p of ['/time', '/healthz']) {
      await edge(p);
      expect(cache.hit, p).not.toContain((await edge(p)).headers.get('x-cache'));
    }
  });

  it('expiry as declared, then stale-while-revalidate: past max-age=5 the redirect is answered from cache while the edge refetches it', async () => {
    const alias = '/vod/edge/manifest.mpd';
    await edge(alias);
    expect(cache.hit).toContain((await edge(alias)).headers.get('x-cache'));
    const cachedAt = Date.now();
    // A new version: the origin's redirect changes, the edge's copy does not yet.
    title = await publishTitle(base, 'edge', master);
    // 7 s: nginx keeps expiry in whole seconds, so max-age=5 can last up to 6 s there.
    await new Promise((r) => setTimeout(r, Math.max(0, cachedAt + 7000 - Date.now())));
    expect(Date.now() - cachedAt).toBeLessThan(30_000);
    const stale = await edge(alias);
    expect(stale.headers.get('location')).not.toBe(title.playback.dash);
    // Varnish says how old its copy is; nginx sends no Age (its X-Cache says STALE or UPDATING).
    if (stale.headers.has('age')) expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(5);
    expect(cache.stale).toContain(stale.headers.get('x-cache'));
    // The refetch it started in the background brings the new version to the next request.
    const fresh = await until(alias, title.playback.dash);
    expect(fresh.headers.get('location')).toBe(title.playback.dash);
    expect(Number(fresh.headers.get('age') ?? 0)).toBeLessThan(5);
  }, 60_000);

  it('origin killed: cached media keeps flowing and the expired redirect is served stale (stale-if-error)', async () => {
    const media = `/vod/edge/${firstVersion}/360p/1.m4s`;
    expect((await edge(media)).status).toBe(200);
    const alias = await until('/vod/edge/master.m3u8', title.playback.hls);
    expect(alias.status).toBe(302);
    expect(alias.headers.get('location')).toBe(title.playback.hls);
    await stopChild(origin, 'SIGKILL');
    // Past the redirect's max-age, and long enough for a health probe to mark the origin sick.
    await new Promise((r) => setTimeout(r, 7000));
    const stale = await edge('/vod/edge/master.m3u8');
    expect(stale.status).toBe(302);
    expect(stale.headers.get('location')).toBe(title.playback.hls);
    expect(cache.stale).toContain(stale.headers.get('x-cache'));
    expect((await edge(media)).status).toBe(200);
    // Never fetched before and the origin is gone: an error, not a made-up answer.
    expect((await edge(`/vod/edge/${title.version}/360p/2.m4s`)).status).toBeGreaterThanOrEqual(500);
  }, 30_000);
});
