/** The pure parts of pre-positioning: selection, order, budget, demand decay, the rate cap, edge config. */
import { describe, expect, it } from 'vitest';
import { applyBudget, orderObjects, selectTitles, usedRenditions, type PushObject, type TitleObjects } from '../../src/push/planner.js';
import { Demand } from '../../src/push/demand.js';
import { RateLimiter } from '../../src/push/rate-limit.js';
import { isCacheHit } from '../../src/push/edge.js';
import { HttpCacheEdge } from '../../src/push/http-edge.js';
import { createServer } from 'node:http';
import { loadConfig } from '../../src/config.js';
import { parseBytes } from '../../src/cli/push.js';

const now = new Date('2026-11-22T12:00:00Z');

/** A title with manifests, inits and `minutes` of 2 s segments in each rendition. */
function title(id: string, renditions: Array<{ id: string; kind: 'video' | 'audio'; bytes: number }>, minutes: number, demand: Record<string, number> = {}, reason: 'requested' | 'top' | 'upcoming-release' = 'requested'): TitleObjects {
  const objects: PushObject[] = [{ path: `/vod/${id}/v/master.m3u8`, bytes: 500, titleId: id, kind: 'manifest' }];
  for (const r of renditions) {
    objects.push({ path: `/vod/${id}/v/${r.id}/init.mp4`, bytes: 800, titleId: id, kind: 'init', rendition: r.id });
    for (let s = 0; s < minutes * 30; s++) objects.push({ path: `/vod/${id}/v/${r.id}/${s + 1}.m4s`, bytes: r.bytes, titleId: id, kind: 'segment', rendition: r.id, startSec: s * 2, durationSec: 2 });
  }
  return { title: { id, version: 'v', demand: 0, reason }, objects, renditions: renditions.map(({ id: rid, kind }) => ({ id: rid, kind })), renditionDemand: demand };
}

describe('selectTitles', () => {
  const all = [
    { id: 'a', version: '1', demand: 5 },
    { id: 'b', version: '1', demand: 50 },
    { id: 'c', version: '1', demand: 0 },
    { id: 'd', version: '1', demand: 1, releaseAt: '2026-11-22T21:00:00Z' },
    { id: 'e', version: '1', demand: 9, releaseAt: '2026-11-22T10:00:00Z' },
    { id: 'f', version: '1', demand: 0, releaseAt: '2026-11-22T20:00:00Z' },
  ];
  it('top N by demand, upcoming releases always (soonest first), past releases only by demand', () => {
    expect(selectTitles(all, { top: 2 }, now).map((t) => [t.id, t.reason])).toEqual([
      ['f', 'upcoming-release'],
      ['d', 'upcoming-release'],
      ['b', 'top'],
      ['e', 'top'],
    ]);
  });
  it('explicit titles, even unwatched ones; never a title twice', () => {
    expect(selectTitles(all, { titles: ['c', 'b'], top: 1 }, now).map((t) => [t.id, t.reason])).toEqual([
      ['f', 'upcoming-release'],
      ['d', 'upcoming-release'],
      ['b', 'requested'],
      ['c', 'requested'],
    ]);
  });
  it('titles nobody watched are not "top"', () => {
    expect(selectTitles(all.filter((t) => !t.releaseAt), { top: 10 }, now).map((t) => t.id)).toEqual(['b', 'a']);
  });
});

describe('orderObjects and applyBudget', () => {
  const ladder = [
    { id: 'audio', kind: 'audio' as const, bytes: 30_000 },
    { id: '360p', kind: 'video' as const, bytes: 200_000 },
    { id: '1080p', kind: 'video' as const, bytes: 1_000_000 },
  ];
  it('used renditions: 90 % of requests plus any with 5 %; audio always; all when nobody watched yet', () => {
    expect([...usedRenditions({ renditions: ladder, renditionDemand: { '1080p': 96, '360p': 4 } }).used].sort()).toEqual(['1080p', 'audio']);
    expect([...usedRenditions({ renditions: ladder, renditionDemand: { '1080p': 80, '360p': 20 } }).used].sort()).toEqual(['1080p', '360p', 'audio']);
    expect([...usedRenditions({ renditions: ladder, renditionDemand: {} }).used].sort()).toEqual(['1080p', '360p', 'audio']);
  });

  it('manifests and inits first, then every title minute by minute within the head, then the rest, the unused rendition last', () => {
    const ordered = orderObjects([title('a', ladder, 10, { '1080p': 99, '360p': 1 }), title('b', ladder, 10)], 300);
    // 2 titles × (multivariant + 3 inits).
    expect(ordered.slice(0, 8).every((o) => o.kind !== 'segment')).toBe(true);
    expect(ordered.findIndex((o) => o.kind === 'segment')).toBe(8);
    // The first minute of both titles before the second minute of either.
    const used = ordered.filter((o) => o.stage === 1);
    const lastFirstMinute = Math.max(...used.filter((o) => o.startSec! < 60).map((o) => ordered.indexOf(o)));
    expect(ordered.findIndex((o) => o.stage === 1 && o.startSec! >= 60)).toBeGreaterThan(lastFirstMinute);
    expect(new Set(used.filter((o) => ordered.indexOf(o) <= lastFirstMinute).map((o) => o.titleId))).toEqual(new Set(['a', 'b']));
    // a's 360p (1 % of requests) is the long tail: after every used segment of both titles.
    const tail = ordered.filter((o) => o.titleId === 'a' && o.rendition === '360p' && o.kind === 'segment');
    expect(tail.every((o) => o.stage === 3)).toBe(true);
    expect(ordered.indexOf(tail[0])).toBe(ordered.length - tail.length);
    // Head (< 300 s) of b before the rest of a.
    expect(ordered.findIndex((o) => o.titleId === 'a' && o.stage === 2)).toBeGreaterThan(Math.max(...ordered.filter((o) => o.titleId === 'b' && o.stage === 1).map((o) => ordered.indexOf(o))));
  });

  it('a budget takes objects in order, never exceeds, and reports what it left out per title and rendition', () => {
    const ordered = orderObjects([title('a', ladder, 2), title('b', ladder, 2)], 60);
    const all = applyBudget(ordered, undefined);
    expect(all.objectsLeftOut).toBe(0);
    const budget = Math.floor(all.bytes / 3);
    const r = applyBudget(ordered, budget);
    expect(r.bytes).toBeLessThanOrEqual(budget);
    expect(r.bytes + r.bytesLeftOut).toBe(all.bytes);
    expect(r.objects.length + r.objectsLeftOut).toBe(ordered.length);
    expect(r.objects.filter((o) => o.stage === 0)).toHaveLength(8); // manifests + inits of both titles: 2 × (1 + 3)
    for (const g of r.leftOut) {
      expect(g.reason).toBe('budget');
      const members = ordered.filter((o) => !r.objects.includes(o) && o.titleId === g.titleId && o.rendition === g.rendition);
      expect(g.objects).toBe(members.length);
      expect(g.toSec).toBe(Math.max(...members.map((o) => o.startSec! + 2)));
    }
    // Smaller objects still fit after a big one did not: audio of the second minute rides along.
    expect(r.objects.some((o) => o.rendition === 'audio' && o.startSec! >= 60)).toBe(true);
  });
});

describe('Demand', () => {
  it('decays by half per half-life, survives a JSON round trip, and forgets deleted titles', () => {
    const d = new Demand(3600_000);
    const t0 = Date.parse('2026-11-22T00:00:00Z');
    for (let i = 0; i < 8; i++) d.record('a', '720p', t0);
    d.record('a', undefined, t0);
    expect(d.title('a', t0)).toBe(9);
    expect(d.title('a', t0 + 3600_000)).toBeCloseTo(4.5);
    expect(d.renditionsOf('a', t0 + 7200_000)['720p']).toBeCloseTo(2);
    const copy = new Demand(3600_000);
    copy.load(JSON.parse(JSON.stringify(d.toJSON(t0 + 3600_000))));
    expect(copy.title('a', t0 + 7200_000)).toBeCloseTo(2.25);
    copy.forget('a');
    expect(copy.title('a', t0)).toBe(0);
    // Long-forgotten counts are dropped from the saved form.
    expect(Object.keys(d.toJSON(t0 + 100 * 3600_000).titles)).toEqual([]);
  });
});

describe('RateLimiter', () => {
  it('lets one second of rate through at once, then spaces the rest by size', async () => {
    let t = 0;
    const slept: number[] = [];
    const rl = new RateLimiter(1000, () => t, async (ms) => {
      slept.push(Math.round(ms));
      t += ms;
    });
    await rl.take(1000);
    await rl.take(500);
    await rl.take(250);
    expect(slept).toEqual([500, 250]);
    t += 10_000; // idle: the bucket refills to one second, no more
    await rl.take(1500);
    expect(slept).toEqual([500, 250, 500]);
    await new RateLimiter(0).take(1e12); // 0: no cap
  });
});

describe('edge helpers', () => {
  it('recognises cache hits of Varnish, nginx, CDNs, and a configured header', () => {
    expect(isCacheHit({ 'x-cache': 'HIT' }, {})).toBe(true);
    expect(isCacheHit({ 'x-cache': 'MISS' }, {})).toBe(false);
    expect(isCacheHit({ 'x-cache-status': 'HIT' }, {})).toBe(true);
    expect(isCacheHit({ 'cf-cache-status': 'HIT' }, {})).toBe(true);
    expect(isCacheHit({ 'x-cache': 'Hit from cloudfront' }, {})).toBe(true);
    expect(isCacheHit({ age: '3' }, {})).toBe(true);
    expect(isCacheHit({ age: '0' }, {})).toBe(false);
    expect(isCacheHit({ 'x-served': 'cache-fra-1 TCP_HIT' }, { hitHeader: 'X-Served', hitPattern: 'TCP_HIT' })).toBe(true);
  });

  it('warm auto: HEAD first; an edge that does not fill its cache on HEAD is switched to GET, and the retry caches', async () => {
    // A cache that stores only what a GET brought (like a CDN that passes HEAD through).
    const cached = new Set<string>();
    const seen: string[] = [];
    const edgeServer = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const hit = cached.has(req.url!);
      if (req.method === 'GET') cached.add(req.url!);
      res.writeHead(200, { 'content-length': '5', 'x-cache': hit ? 'HIT' : 'MISS' }).end(req.method === 'GET' ? 'hello' : undefined);
    });
    await new Promise<void>((r) => edgeServer.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(edgeServer.address() as { port: number }).port}`;
    const edge = new HttpCacheEdge({ name: 'cdn', kind: 'http-cache', url, warm: 'auto', concurrency: 1, maxBytesPerSec: 0, purge: 'none' });
    const ctx = { pushId: 'p', signal: new AbortController().signal, timeoutMs: 2000 };
    const o = { path: '/vod/t/v/360p/1.m4s', bytes: 5, titleId: 't', kind: 'segment' as const };
    try {
      await edge.transfer(o, ctx);
      await expect(edge.verify(o, ctx)).rejects.toMatchObject({ code: 'EDGE_NOT_CACHED', retryable: true });
      await edge.transfer(o, ctx);
      await edge.verify(o, ctx);
      const o2 = { ...o, path: '/vod/t/v/360p/2.m4s' };
      await edge.transfer(o2, ctx);
      await edge.verify(o2, ctx);
      expect(seen).toEqual([`HEAD ${o.path}`, `HEAD ${o.path}`, `GET ${o.path}`, `HEAD ${o.path}`, `GET ${o2.path}`, `HEAD ${o2.path}`]);
    } finally {
      edge.close();
      edgeServer.close();
    }
  });

  it('edge config: defaults, per-edge caps, and clear errors', () => {
    const cfg = (edges: unknown, env: Record<string, string> = {}) => loadConfig({}, { CASCADE_EDGES: JSON.stringify(edges), ...env }).edges;
    expect(cfg([{ name: 'a', kind: 'http-cache', url: 'http://v:6081/' }], { CASCADE_PUSH_CONCURRENCY: '3' })).toEqual([
      { name: 'a', kind: 'http-cache', url: 'http://v:6081', concurrency: 3, maxBytesPerSec: 0, warm: 'auto', purge: 'purge', hitHeader: undefined, hitPattern: undefined, purgePrefix: undefined },
    ]);
    expect(cfg([{ name: 'b', kind: 's3', bucket: 'edge-b', prefix: 'cdn', maxBytesPerSec: 1000 }])[0]).toMatchObject({ prefix: 'cdn/', maxBytesPerSec: 1000, region: 'us-east-1', multipartBytes: 16 * 1024 * 1024 });
    expect(() => cfg([{ name: 'b', kind: 's3', bucket: 'edge-b', multipartBytes: 1024 }])).toThrow(/multipartBytes/);
    expect(() => cfg([{ name: 'all', kind: 'http-cache', url: 'http://x' }])).toThrow(/"all" means every edge/);
    expect(() => cfg([{ name: 'a', kind: 'http-cache', url: 'http://x/path' }])).toThrow(/edges\[0\]\.url/);
    expect(() => cfg([{ name: 'a', kind: 'http-cache', url: 'http://x', purge: 'zap' }])).toThrow(/purge, ban or none/);
    expect(() => cfg([{ name: 'a', kind: 's3', bucket: 'B!' }])).toThrow(/edges\[0\]\.bucket/);
    expect(() => cfg([{ name: 'a', kind: 'http-cache', url: 'http://x', concurrency: 0 }])).toThrow(/concurrency/);
  });

  it('parses budgets', () => {
    expect(parseBytes('50GB')).toBe(50e9);
    expect(parseBytes('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('1234')).toBe(1234);
    expect(() => parseBytes('50 gallons')).toThrow(/50GB/);
  });
});
