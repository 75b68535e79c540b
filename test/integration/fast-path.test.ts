/**
 * The small-object fast path (src/origin/response-memo.ts) over real HTTP: a replayed answer is
 * the full pipeline's answer, byte for byte and header for header, for every request header that
 * selects a representation; and nothing that must be checked per request is ever replayed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
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

/** Writes `bytes` on a fresh connection and collects what comes back until the server closes it or `ms` pass. */
const exchange = (bytes: string | Buffer[], ms = 1500): Promise<string> =>
  new Promise((resolve, reject) => {
    const u = new URL(t.url);
    let got = '';
    const sock = connect(Number(u.port), u.hostname, async () => {
      for (const b of Array.isArray(bytes) ? bytes : [Buffer.from(bytes, 'latin1')]) {
        sock.write(b);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
    setTimeout(() => sock.end(), ms);
  });
const statuses = (text: string): number[] => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

it('at the connection: pipelined hits and a miss after them are all answered in order, with the right bodies', async () => {
  // Prime the memo (a new version, since an earlier test deleted the first).
  title = await publishTitle(t.url, 'fp2', await makeMaster(join(media, 'm2.mp4'), { seconds: 2, size: '320x180' }));
  const path = `/vod/fp2/${title.version}/master.m3u8`;
  const body = (await raw(path)).body.toString('latin1');
  await raw(path);
  const get = (p: string, extra = ''): string => `GET ${p} HTTP/1.1\r\nHost: x\r\nX-Cascade-Shield: ${SHIELD}\r\n${extra}\r\n`;
  const before = await hits();
  const text = await exchange(get(path) + get(path) + `HEAD ${path} HTTP/1.1\r\nHost: x\r\nX-Cascade-Shield: ${SHIELD}\r\n\r\n` + get('/healthz'));
  expect(statuses(text)).toEqual([200, 200, 200, 200]);
  expect(text.split(body).length - 1).toBe(2); // the HEAD has no body
  expect(await hits()).toBeGreaterThanOrEqual(before + 2);
  // A head split over two writes still gets its answer (from node:http).
  expect(statuses(await exchange([Buffer.from(`GET ${path} HTTP/1.1\r\nHo`), Buffer.from(`st: x\r\nX-Cascade-Shield: ${SHIELD}\r\n\r\n`)]))).toEqual([200]);
});

it('at the connection: requests outside the plain subset go to node:http, which frames them itself', async () => {
  const path = `/vod/fp2/${title.version}/master.m3u8`;
  const base = `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Cascade-Shield: ${SHIELD}\r\n`;
  // A body on a GET (Transfer-Encoding): Node reads the chunked body, then answers the next request.
  expect(statuses(await exchange(`${base}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${base}\r\n`))).toEqual([200, 200]);
  // An obs-fold line and a duplicate Content-Length are Node's to refuse.
  expect(statuses(await exchange(`${base}X-Folded: a\r\n  b\r\n\r\n`))[0]).toBe(400);
  expect(statuses(await exchange(`${base}Content-Length: 1\r\nContent-Length: 2\r\n\r\nx`))[0]).toBe(400);
  // Connection: close is Node's to honour (the answer says so).
  const closed = await exchange(`${base}Connection: close\r\n\r\n`, 3000);
  expect(statuses(closed)).toEqual([200]);
  expect(closed).toMatch(/\r\nconnection: close\r\n/i);
  // Two Origin headers: not the fast path's to decide.
  expect(statuses(await exchange(`${base}Origin: https://player.example\r\nOrigin: https://other.example\r\n\r\n`))[0]).toBe(200);
});

it('at the connection: a client that pipelines and does not read is answered only as fast as it reads', async () => {
  const path = `/vod/fp2/${title.version}/master.m3u8`;
  await raw(path);
  const u = new URL(t.url);
  const n = 20_000;
  const sock = connect(Number(u.port), u.hostname);
  sock.pause(); // not reading
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const before = await hits();
  sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Cascade-Shield: ${SHIELD}\r\n\r\n`.repeat(n));
  await new Promise((r) => setTimeout(r, 1000));
  // The answers (≈ 7 MB) did not all go out: the server waits for the client to read.
  const held = (await hits()) - before;
  expect(held).toBeLessThan(n);
  let got = 0;
  let tail = '';
  await new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      const text = tail + d.toString('latin1');
      got += text.split('HTTP/1.1 200 OK').length - 1;
      // Keep less than one status line, so a line cut by the chunking is counted once.
      tail = text.slice(-('HTTP/1.1 200 OK'.length - 1));
      if (got >= n) resolve();
    });
    sock.resume();
  });
  expect(got).toBe(n);
  expect((await hits()) - before).toBe(n);
  sock.destroy();
}, 30_000);

it('closing the server ends the idle connections the fast path holds (drain does not wait for their keep-alive)', async () => {
  const path = `/vod/fp2/${title.version}/master.m3u8`;
  const u = new URL(t.url);
  const sock = connect(Number(u.port), u.hostname);
  let got = '';
  sock.on('data', (d) => (got += d.toString('latin1')));
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Cascade-Shield: ${SHIELD}\r\n\r\n`);
  for (let i = 0; i < 50 && !got.includes('#EXTM3U'); i++) await new Promise((r) => setTimeout(r, 20));
  expect(statuses(got)).toEqual([200]);
  // The connection is idle and open (keep-alive 65 s); the server's close must not wait for it.
  await t.stop();
  await closed;
}, 20_000);
