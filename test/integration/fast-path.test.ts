/**
 * The small-object fast path (src/origin/response-memo.ts) over real HTTP: a replayed answer is
 * the full pipeline's answer, byte for byte and header for header, for every request header that
 * selects a representation; and nothing that must be checked per request is ever replayed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signToken, titlePrefix } from '../../src/origin/signed-urls.js';
import { makeMaster } from '../helpers/media.js';
import { api, publishTitle, startTestServer, type TestServer } from '../helpers/server.js';

const SHIELD = 'shield-secret-0123456789';
const KEY = { id: 'k1', secret: 'first-secret-0123456789' };
let t: TestServer;
let media: string;
let title: any;

/** Raw answer (node:http, so no client-side decoding), with the header lines as sent. */
const raw = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> =>
  new Promise((resolve, reject) => {
    const req = request(new URL(path, t.url), { method, headers: { 'x-cascade-shield': SHIELD, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
const hits = async (): Promise<number> => Number(/cascade_fast_path_hits_total (\d+)/.exec(await (await fetch(new URL('/metrics', t.url))).text())![1]);
const withoutDate = (h: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'cascade-fast-'));
  const master = await makeMaster(join(media, 'm.mp4'), { seconds: 4, size: '640x360' });
  t = await startTestServer({
    CASCADE_CORS_ORIGINS: 'https://player.example',
    CASCADE_CDN_BASE_URLS: 'https://cdn-a.example,https://cdn-b.example',
    CASCADE_SHIELD_SECRET: SHIELD,
    CASCADE_SIGNING_KEYS: `${KEY.id}:${KEY.secret}`,
  });
  title = await publishTitle(t.url, 'fp', master);
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await rm(media, { recursive: true, force: true });
});

it('a replayed answer equals the pipeline answer for every header that selects a representation', async () => {
  const v = `/vod/fp/${title.version}`;
  const variants: Array<[string, Record<string, string>]> = [
    [`${v}/master.m3u8`, {}],
    [`${v}/master.m3u8`, { 'accept-encoding': 'gzip' }],
    [`${v}/master.m3u8`, { 'accept-encoding': 'br, gzip' }],
    [`${v}/master.m3u8`, { origin: 'https://player.example' }],
    [`${v}/master.m3u8`, { origin: 'https://other.example' }],
    [`${v}/360p/media.m3u8`, { 'x-cascade-base-url': 'https://cdn-b.example' }],
    [`${v}/manifest.mpd`, { 'accept-encoding': 'gzip' }],
    [`${v}/360p/init.mp4`, {}],
    [`${v}/audio/1.m4s`, { origin: 'https://player.example' }],
  ];
  const first = [];
  for (const [path, h] of variants) first.push(await raw(path, h));
  const before = await hits();
  for (const [i, [path, h]] of variants.entries()) {
    const again = await raw(path, h);
    expect(again.status, path).toBe(200);
    expect(withoutDate(again.headers), `${path} ${JSON.stringify(h)}`).toEqual(withoutDate(first[i].headers));
    expect(again.body.equals(first[i].body), path).toBe(true);
    expect(again.headers.date).toBeTruthy();
  }
  expect(await hits()).toBe(before + variants.length);
  // The variants really differ where they should: coding, CORS, CDN base.
  expect(first[1].headers['content-encoding']).toBe('gzip');
  expect(first[2].headers['content-encoding']).toBe('br');
  expect(first[3].headers['access-control-allow-origin']).toBe('https://player.example');
  expect(first[4].headers['access-control-allow-origin']).toBeUndefined();
  expect(first[5].body.toString()).toContain('https://cdn-b.example/');
  expect(first[0].body.toString()).toContain('https://cdn-a.example/');
  // Replayed answers are counted like the others.
  const m = await (await fetch(new URL('/metrics', t.url))).text();
  expect(Number(/cascade_http_requests_total\{route="hls-playlist",status="200"\} (\d+)/.exec(m)![1])).toBeGreaterThanOrEqual(10);
});

it('conditional, Range and HEAD requests still get the pipeline answers (304, 206, HEAD)', async () => {
  const path = `/vod/fp/${title.version}/360p/init.mp4`;
  const full = await raw(path);
  await raw(path);
  const before = await hits();
  expect((await raw(path, { 'if-none-match': String(full.headers.etag) })).status).toBe(304);
  expect((await raw(path, { 'if-modified-since': String(full.headers['last-modified']) })).status).toBe(304);
  const part = await raw(path, { range: 'bytes=0-9' });
  expect(part.status).toBe(206);
  expect(part.body.equals(full.body.subarray(0, 10))).toBe(true);
  const head = await raw(path, {}, 'HEAD');
  expect(head.status).toBe(200);
  expect(head.headers['content-length']).toBe(String(full.body.length));
  expect(await hits()).toBe(before);
});

it('the shield secret is checked on every replay', async () => {
  const path = `/vod/fp/${title.version}/master.m3u8`;
  await raw(path);
  expect((await raw(path)).status).toBe(200);
  for (const secret of ['', 'wrong-secret-0123456789']) {
    const r = await raw(path, { 'x-cascade-shield': secret });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body.toString()).error.code).toBe('SHIELD_REQUIRED');
  }
});

it('a signed URL is checked every time: never replayed, refused once its token expired', async () => {
  const exp = Math.floor(Date.now() / 1000) + 2;
  const token = signToken([KEY], titlePrefix('fp'), exp);
  const paths = [`/vod/fp/${title.version}/master.m3u8?token=${token}`, `/vod/fp/${title.version}/360p/1.m4s?token=${token}`];
  const before = await hits();
  for (const p of paths) for (let i = 0; i < 2; i++) expect((await raw(p)).status).toBe(200);
  expect(await hits()).toBe(before);
  await new Promise((r) => setTimeout(r, (exp + 1) * 1000 - Date.now()));
  for (const p of paths) {
    const r = await raw(p);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body.toString()).error.code).toBe('TOKEN_EXPIRED');
  }
});

it('a deleted title is not served from memory', async () => {
  const path = `/vod/fp/${title.version}/master.m3u8`;
  await raw(path);
  expect((await raw(path)).status).toBe(200);
  expect((await api(t.url, 'DELETE', '/api/v1/titles/fp')).status).toBe(204);
  const r = await raw(path);
  expect(r.status).toBe(404);
  expect(JSON.parse(r.body.toString()).error.code).toBe('TITLE_NOT_FOUND');
});
