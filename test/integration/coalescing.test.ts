/**
 * Storage protection, measured at the wire: a counting proxy sits between Cascade
 * and a real s3rver, so every storage GET that Cascade makes is counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startS3rver, S3RVER_ENV, type S3rver } from '../helpers/s3rver.js';
import { startTestServer, type TestServer, publishTitle } from '../helpers/server.js';

let s3: S3rver;
let proxy: CountingProxy;
let t: TestServer;
let media: string;
let title: any;

/** Raw node:http GET on a dedicated agent-less socket: 1 000 real concurrent connections. */
function get(url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  Object.assign(process.env, S3RVER_ENV);
  s3 = await startS3rver('coalesce');
  // Storage answers slowly (50 ms a request), as a remote store under load would.
  proxy = await startCountingProxy(s3.endpoint, { delayMs: 50 });
  media = await mkdtemp(join(tmpdir(), 'cascade-coal-'));
  const master = await makeMaster(join(media, 'm.mp4'), { seconds: 8, size: '1280x720' });
  t = await startTestServer({ CASCADE_S3_ENDPOINT: proxy.url, CASCADE_HOT_CACHE_BYTES: String(64 * 1024 * 1024) }, { storage: 's3://coalesce/c' });
  title = await publishTitle(t.url, 'stampede', master);
}, 120_000);

afterAll(async () => {
  await t?.stop();
  await proxy?.close();
  await s3?.stop();
  await rm(media, { recursive: true, force: true });
});

describe('request coalescing and the hot object cache', () => {
  it('1 000 concurrent cold requests for one segment cause exactly one storage GET', async () => {
    proxy.reset();
    const url = new URL(`/vod/stampede/${title.version}/720p/2.m4s`, t.url).toString();
    const results = await Promise.all(Array.from({ length: 1000 }, () => get(url)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.bytes)).size).toBe(1);
    expect(proxy.count('GET', `/${title.version}/720p.mp4`)).toBe(1);
    const m = await (await fetch(new URL('/metrics', t.url))).text();
    const n = (name: string): number => Number(new RegExp(`${name} (\\d+)`).exec(m)![1]);
    // Every request but the first joined the read in flight or found its result in memory.
    expect(n('cascade_coalesced_requests_total') + n('cascade_hot_cache_hits_total')).toBe(999);
    expect(n('cascade_storage_reads_total')).toBe(1);
  }, 60_000);

  it('repeated hits are served from memory; ranges are cut from the cached object', async () => {
    proxy.reset();
    const url = new URL(`/vod/stampede/${title.version}/720p/2.m4s`, t.url);
    for (let i = 0; i < 20; i++) expect((await fetch(url)).status).toBe(200);
    const part = await fetch(url, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(10);
    expect(proxy.count('GET', '.mp4')).toBe(0);
  });

  it('a cold manifest stampede reads the title index once', async () => {
    proxy.reset();
    const res = await Promise.all(Array.from({ length: 200 }, (_, i) => get(new URL(`/vod/stampede/${title.version}/${i % 2 ? 'master.m3u8' : 'manifest.mpd'}`, t.url).toString())));
    expect(res.every((r) => r.status === 200)).toBe(true);
    // The index was read by the title API earlier; a cold server would read it exactly once.
    expect(proxy.count('GET', 'timeline.json')).toBeLessThanOrEqual(1);
  });

  it('missing objects are cached negatively for a moment', async () => {
    proxy.reset();
    // A timeline that lists a segment whose track object is gone: delete it behind Cascade's back.
    await t.server.store.delete(`titles/stampede/${title.version}/360p.mp4`);
    const url = new URL(`/vod/stampede/${title.version}/360p/1.m4s`, t.url).toString();
    const res = await Promise.all(Array.from({ length: 50 }, () => get(url)));
    expect(res.every((r) => r.status === 404)).toBe(true);
    for (let i = 0; i < 10; i++) expect((await get(url)).status).toBe(404);
    expect(proxy.count('GET', '360p.mp4')).toBe(1);
  });
});
