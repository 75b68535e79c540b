/**
 * Real edges in front of a real `cascade serve`: Varnish with deploy/varnish/edge.vcl and nginx with
 * deploy/nginx/edge.conf (the files users deploy). The origin's headers make each edge cache what it
 * should, for as long as it should, and serve stale when the origin process is killed.
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
  ['varnish', startVarnish, { hit: ['HIT'], refetched: ['MISS'], stale: ['HIT'] }],
  ['nginx', startNginxEdge, { hit: ['HIT'], refetched: ['EXPIRED', 'MISS'], stale: ['STALE', 'UPDATING'] }],
] as const)('%s edge', (_name, startEdge, cache) => {
  let dir: string;
  let origin: ChildProcess;
  let base: string;
  let edgeServer: Edge;
  let title: any;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-edge-'));
    ({ child: origin, url: base } = await spawnServe(join(dir, 'data'), { env: { CASCADE_API_TOKEN: TEST_TOKEN, CASCADE_LADDER: 'draft' } }));
    const master = await makeMaster(join(dir, 'm.mp4'), { seconds: 4, size: '640x360' });
    title = await publishTitle(base, 'edge', master);
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

  it('expiry as declared: the max-age=5 redirect is refetched once expired', async () => {
    await edge('/vod/edge/manifest.mpd');
    expect(cache.hit).toContain((await edge('/vod/edge/manifest.mpd')).headers.get('x-cache'));
    // 7 s: nginx keeps expiry in whole seconds, so max-age=5 can last up to 6 s there.
    await new Promise((r) => setTimeout(r, 7000));
    expect(cache.refetched).toContain((await edge('/vod/edge/manifest.mpd')).headers.get('x-cache'));
  }, 20_000);

  it('origin killed: cached media keeps flowing and the expired redirect is served stale (stale-if-error)', async () => {
    const alias = await edge('/vod/edge/master.m3u8');
    expect(alias.status).toBe(302);
    await stopChild(origin, 'SIGKILL');
    // Past the redirect's max-age, and long enough for a health probe to mark the origin sick.
    await new Promise((r) => setTimeout(r, 7000));
    const stale = await edge('/vod/edge/master.m3u8');
    expect(stale.status).toBe(302);
    expect(stale.headers.get('location')).toBe(title.playback.hls);
    expect(cache.stale).toContain(stale.headers.get('x-cache'));
    expect((await edge(`/vod/edge/${title.version}/360p/1.m4s`)).status).toBe(200);
    // Never fetched before and the origin is gone: an error, not a made-up answer.
    expect((await edge(`/vod/edge/${title.version}/360p/2.m4s`)).status).toBeGreaterThanOrEqual(500);
  }, 30_000);
});
