/**
 * The VOD path end to end with real ffmpeg, on the file store and on a real
 * s3rver: upload → job → published title → manifests and media over HTTP, read
 * back by ffprobe as a client and by the manifest parsers.
 */
import { execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobeJson, makeMaster } from '../helpers/media.js';
import { MPD_SCHEMA, parseM3u8Strict, parseMpdStrict } from '../helpers/manifests.js';
import { startS3rver, S3RVER_ENV, type S3rver } from '../helpers/s3rver.js';
import { api, filesUnder, startTestServer, uploadSource, waitJob, type TestServer } from '../helpers/server.js';

let media: string;
let master: string;
let s3: S3rver;
beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'cascade-media-'));
  master = await makeMaster(join(media, 'master.mp4'), { seconds: 12, size: '1280x720' });
  Object.assign(process.env, S3RVER_ENV);
  s3 = await startS3rver('vod');
});
afterAll(async () => {
  await s3?.stop();
  await rm(media, { recursive: true, force: true });
});

async function upload(base: string, title: string, file: string, query = ''): Promise<any> {
  // A media content type must not make the API try to parse the body.
  const r = await uploadSource(base, title, file, query, 'video/mp4');
  expect(r.status, JSON.stringify(r.json)).toBe(202);
  return r.json.job;
}

describe.each([
  ['file', () => ({ env: {}, overrides: {} })],
  ['s3', () => ({ env: { CASCADE_S3_ENDPOINT: s3.endpoint }, overrides: { storage: 's3://vod/cascade' } })],
])('VOD on the %s store', (_kind, setup) => {
  let t: TestServer;
  let title: any;
  beforeAll(async () => {
    const { env, overrides } = setup();
    t = await startTestServer(env, overrides);
    const job = await upload(t.url, 'movie', master);
    expect(job).toMatchObject({ titleId: 'movie', status: 'queued', progress: 0 });
    const done = await waitJob(t.url, job.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.progress).toBe(1);
    title = (await api(t.url, 'GET', '/api/v1/titles/movie')).json;
  }, 180_000);
  afterAll(async () => t?.stop());

  it('publishes a ready title with a ladder that never upscales and versioned playback URLs', () => {
    expect(title.status).toBe('ready');
    expect(title.durationSec).toBeGreaterThan(11.9);
    expect(title.durationSec).toBeLessThan(12.2);
    expect(title.renditions.map((r: any) => r.id)).toEqual(['720p', '360p', 'audio']);
    expect(title.renditions[0]).toMatchObject({ kind: 'video', width: 1280, height: 720, frameRate: 30 });
    expect(title.renditions[2]).toMatchObject({ kind: 'audio', codecs: 'mp4a.40.2', channels: 2, sampleRate: 48000 });
    expect(title.playback.hls).toBe(`/vod/movie/${title.version}/master.m3u8`);
    expect(title.playback.dash).toBe(`/vod/movie/${title.version}/manifest.mpd`);
  });

  it('leaves no upload, work files or ffmpeg behind', async () => {
    expect(await filesUnder(join(t.dataDir, 'uploads'))).toEqual([]);
    expect(await filesUnder(join(t.dataDir, 'work'))).toEqual([]);
    expect(t.server.supervisor.running).toBe(0);
  });

  it('serves manifests that the parsers read and the ISO schema accepts', async () => {
    const mres = await fetch(new URL(title.playback.hls, t.url));
    expect(mres.headers.get('content-type')).toMatch(/application\/vnd\.apple\.mpegurl/);
    expect(mres.headers.get('cache-control')).toMatch(/max-age=3600/);
    const mv = parseM3u8Strict(await mres.text());
    expect(mv.playlists).toHaveLength(2);
    expect(mv.playlists[0].attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    const media = parseM3u8Strict(await (await fetch(new URL(`/vod/movie/${title.version}/720p/media.m3u8`, t.url))).text());
    expect(media.segments.length).toBe(3);
    expect(media.segments.map((s: any) => s.duration)).toEqual([4, 4, 4]);
    const dres = await fetch(new URL(title.playback.dash, t.url));
    expect(dres.headers.get('content-type')).toBe('application/dash+xml');
    const mpd = await dres.text();
    const parsed = parseMpdStrict(mpd, new URL(title.playback.dash, t.url).toString());
    expect(parsed.playlists.length).toBe(2);
    const f = join(media.segments ? tmpdir() : '', `vod-${_kind}-${process.pid}.mpd`);
    await writeFile(f, mpd);
    execFileSync('xmllint', ['--noout', '--schema', MPD_SCHEMA, f], { stdio: 'pipe' });
    await rm(f);
  });

  it('ffprobe reads HLS and DASH as a client; keyframes are aligned at 2 s in every rendition', async () => {
    for (const url of [title.playback.hls, title.playback.dash]) {
      const p = await ffprobeJson(new URL(url, t.url).toString(), ['-show_format', '-show_streams']);
      const types = p.streams.map((s: any) => s.codec_type);
      expect(types).toContain('video');
      expect(types).toContain('audio');
    }
    const keyframeTimes: number[][] = [];
    for (const r of ['720p', '360p']) {
      const p = await ffprobeJson(new URL(`/vod/movie/${title.version}/${r}/media.m3u8`, t.url).toString(), ['-select_streams', 'v:0', '-show_packets', '-show_entries', 'packet=pts_time,flags']);
      const keys = p.packets.filter((k: any) => k.flags.startsWith('K')).map((k: any) => Math.round(Number(k.pts_time) * 1000) / 1000);
      keyframeTimes.push(keys);
      expect(p.packets.length).toBe(360);
    }
    expect(keyframeTimes[0]).toEqual([0, 2, 4, 6, 8, 10]);
    expect(keyframeTimes[1]).toEqual(keyframeTimes[0]);
  });

  it('media: content types, immutable caching, Range, HEAD, conditionals', async () => {
    const base = `/vod/movie/${title.version}/720p`;
    const init = await fetch(new URL(`${base}/init.mp4`, t.url));
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toBe('video/mp4');
    const initBytes = Buffer.from(await init.arrayBuffer());
    expect(initBytes.subarray(4, 8).toString()).toBe('ftyp');
    const seg = await fetch(new URL(`${base}/1.m4s`, t.url));
    expect(seg.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const segBytes = Buffer.from(await seg.arrayBuffer());
    expect(segBytes.subarray(4, 8).toString()).toBe('moof');
    expect(Number(seg.headers.get('content-length'))).toBe(segBytes.length);
    const audio = await fetch(new URL(`/vod/movie/${title.version}/audio/1.m4s`, t.url));
    expect(audio.headers.get('content-type')).toBe('audio/mp4');
    await audio.arrayBuffer();

    const part = await fetch(new URL(`${base}/1.m4s`, t.url), { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${segBytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(segBytes.subarray(100, 200))).toBe(true);
    const bad = await fetch(new URL(`${base}/1.m4s`, t.url), { headers: { range: `bytes=${segBytes.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${segBytes.length}`);
    expect((await bad.json()).error.code).toBe('INVALID_RANGE');
    expect(bad.headers.get('cache-control')).toBe('no-store');

    const head = await fetch(new URL(`${base}/2.m4s`, t.url), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(1000);
    const etag = seg.headers.get('etag')!;
    const cond = await fetch(new URL(`${base}/1.m4s`, t.url), { headers: { 'if-none-match': etag } });
    expect(cond.status).toBe(304);
    const ims = await fetch(new URL(title.playback.hls, t.url), { headers: { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() } });
    expect(ims.status).toBe(304);
  });

  it('manifests are compressed by Accept-Encoding (br, gzip) with Vary; media never', async () => {
    const raw = (path: string, enc: string): Promise<{ headers: Record<string, unknown>; body: Buffer }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(new URL(path, t.url), { headers: { 'accept-encoding': enc } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
        });
        req.on('error', reject);
        req.end();
      });
    const plain = await raw(title.playback.dash, 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const br = await raw(title.playback.dash, 'gzip, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/Accept-Encoding/);
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    const gz = await raw(title.playback.hls, 'gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toMatch(/^#EXTM3U/);
    expect(gz.headers.etag).not.toBe((await raw(title.playback.hls, 'identity')).headers.etag);
    const seg = await raw(`/vod/movie/${title.version}/720p/1.m4s`, 'gzip, br');
    expect(seg.headers['content-encoding']).toBeUndefined();
    expect(seg.body.subarray(4, 8).toString()).toBe('moof');
  });

  it('CORS for players on other origins', async () => {
    const r = await fetch(new URL(title.playback.hls, t.url), { headers: { origin: 'https://customer.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-expose-headers')).toMatch(/Content-Range/);
    const pre = await fetch(new URL(`/vod/movie/${title.version}/720p/1.m4s`, t.url), { method: 'OPTIONS', headers: { origin: 'https://customer.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Range/);
  });

  it('clear 404s with stable codes; unversioned URLs redirect to the current version', async () => {
    const cases: Array<[string, string]> = [
      ['/vod/nope/v1/master.m3u8', 'TITLE_NOT_FOUND'],
      [`/vod/movie/${title.version}/1080p/media.m3u8`, 'RENDITION_NOT_FOUND'],
      [`/vod/movie/${title.version}/720p/99.m4s`, 'SEGMENT_NOT_FOUND'],
      [`/vod/movie/${title.version}/720p/..%2f..%2fcurrent.json`, 'NOT_FOUND'],
      ['/nothing/here', 'NOT_FOUND'],
    ];
    for (const [path, code] of cases) {
      const r = await fetch(new URL(path, t.url));
      expect(r.status, path).toBe(404);
      expect((await r.json()).error.code, path).toBe(code);
      expect(r.headers.get('cache-control')).toBe('public, max-age=5');
    }
    const alias = await fetch(new URL('/vod/movie/master.m3u8', t.url), { redirect: 'manual' });
    expect(alias.status).toBe(302);
    expect(alias.headers.get('location')).toBe(title.playback.hls);
  });

  it('re-uploading creates a new version; the old URLs keep working', async () => {
    const job = await upload(t.url, 'movie', master, '?ladder=' + encodeURIComponent(JSON.stringify({ base: 'draft', video: [{ height: 360, bitrateKbps: 500 }] })));
    expect((await waitJob(t.url, job.id)).status).toBe('succeeded');
    const next = (await api(t.url, 'GET', '/api/v1/titles/movie')).json;
    expect(next.version).not.toBe(title.version);
    expect(next.renditions.map((r: any) => r.id)).toEqual(['360p', 'audio']);
    expect((await fetch(new URL(title.playback.hls, t.url))).status).toBe(200);
    expect((await fetch(new URL(`/vod/movie/${title.version}/720p/3.m4s`, t.url))).status).toBe(200);
    const list = (await api(t.url, 'GET', '/api/v1/titles')).json;
    expect(list.titles.map((x: any) => x.id)).toEqual(['movie']);
  });

  it('operational endpoints: healthz, time, metrics', async () => {
    const h = await fetch(new URL('/healthz', t.url));
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const time = await fetch(new URL('/time', t.url));
    expect(time.headers.get('cache-control')).toBe('no-store');
    expect(Math.abs(Date.parse(await time.text()) - Date.now())).toBeLessThan(5000);
    const m = await (await fetch(new URL('/metrics', t.url))).text();
    expect(m).toMatch(/cascade_http_requests_total\{route="segment",status="200"\} \d+/);
    expect(m).toMatch(/cascade_jobs_running 0/);
    expect(m).toMatch(/cascade_http_request_duration_seconds_bucket\{route="segment",le="\+Inf"\} [1-9]/);
    expect(m).toMatch(/cascade_hot_cache_hits_total \d+/);
    expect(m).toMatch(/cascade_child_processes 0/);
  });

  it('DELETE removes the title and its objects', async () => {
    expect((await api(t.url, 'DELETE', '/api/v1/titles/movie')).status).toBe(204);
    expect((await api(t.url, 'GET', '/api/v1/titles/movie')).status).toBe(404);
    expect((await fetch(new URL(title.playback.hls, t.url))).status).toBe(404);
    const left: string[] = [];
    for await (const o of t.server.store.list('titles/')) left.push(o.key);
    expect(left).toEqual([]);
  });
});
