/** CDN base URLs in manifests and the origin-shield guard, over HTTP. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { MPD_SCHEMA, parseM3u8Strict, parseMpdStrict } from '../helpers/manifests.js';
import { startTestServer, type TestServer, publishTitle } from '../helpers/server.js';

const SHIELD = 'shield-secret-0123456789';
let t: TestServer;
let media: string;
let title: any;
const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(new URL(path, t.url), { headers: { 'x-cascade-shield': SHIELD, ...headers } });

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'cascade-cdn-'));
  const master = await makeMaster(join(media, 'm.mp4'), { seconds: 4, size: '640x360' });
  t = await startTestServer({ CASCADE_CDN_BASE_URLS: 'https://cdn-a.example, https://cdn-b.example/edge/', CASCADE_SHIELD_SECRET: SHIELD });
  title = await publishTitle(t.url, 'x', master);
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await rm(media, { recursive: true, force: true });
});

it('the shield guard refuses requests without the CDN secret', async () => {
  for (const headers of [{ 'x-cascade-shield': '' }, { 'x-cascade-shield': 'wrong-secret-0123456789' }]) {
    const r = await fetch(new URL(title.playback.hls, t.url), { headers });
    expect(r.status).toBe(403);
    expect((await r.json()).error.code).toBe('SHIELD_REQUIRED');
  }
  expect((await fetch(new URL(`/vod/x/${title.version}/360p/1.m4s`, t.url))).status).toBe(403);
  expect((await get(`/vod/x/${title.version}/360p/1.m4s`)).status).toBe(200);
  // Operational endpoints and the API are not behind the shield.
  expect((await fetch(new URL('/healthz', t.url))).status).toBe(200);
});

it('manifests list absolute CDN URLs (default base, or a listed one picked by header)', async () => {
  const mv = parseM3u8Strict(await (await get(title.playback.hls)).text());
  expect(mv.playlists.map((p: any) => p.uri)).toContain(`https://cdn-a.example/vod/x/${title.version}/360p/media.m3u8`);
  const mr = await get(`/vod/x/${title.version}/360p/media.m3u8`, { 'x-cascade-base-url': 'https://cdn-b.example/edge' });
  expect(mr.headers.get('vary')).toMatch(/X-Cascade-Base-Url/);
  const mp = await mr.text();
  expect(mp).toContain(`#EXT-X-MAP:URI="https://cdn-b.example/edge/vod/x/${title.version}/360p/init.mp4"`);
  expect(mp).toContain(`https://cdn-b.example/edge/vod/x/${title.version}/360p/1.m4s`);
  const evil = await (await get(title.playback.hls, { 'x-cascade-base-url': 'https://evil.example' })).text();
  expect(evil).not.toContain('evil.example');
  expect(evil).toContain('https://cdn-a.example/');
});

it('the MPD carries a BaseURL, still validates, and resolves segments on the CDN', async () => {
  const mpd = await (await get(title.playback.dash)).text();
  expect(mpd).toContain(`<BaseURL>https://cdn-a.example/vod/x/${title.version}/</BaseURL>`);
  const f = join(media, 'cdn.mpd');
  await writeFile(f, mpd);
  execFileSync('xmllint', ['--noout', '--schema', MPD_SCHEMA, f], { stdio: 'pipe' });
  const parsed = parseMpdStrict(mpd, new URL(title.playback.dash, t.url).toString());
  expect(parsed.playlists[0].segments[0].resolvedUri).toBe(`https://cdn-a.example/vod/x/${title.version}/360p/1.m4s`);
});

it('live playlists and the live MPD list CDN URLs too, and /live/ is behind the shield', async () => {
  const { createChannel, publish, waitChannel } = await import('../helpers/live.js');
  const { stopChild } = await import('../helpers/processes.js');
  const ch = await createChannel(t.url, 'cdn-live', { ladder: 'passthrough', lowLatency: true });
  const pub = publish(ch.ingest.rtmp, { seconds: 30 });
  try {
    await waitChannel(t.url, 'cdn-live', (c) => c.state === 'live');
    expect((await fetch(new URL('/live/cdn-live/master.m3u8', t.url))).status).toBe(403);
    const mv = await (await get('/live/cdn-live/master.m3u8')).text();
    expect(mv).toContain('https://cdn-a.example/live/cdn-live/source/media.m3u8');
    const media = await (await get('/live/cdn-live/source/media.m3u8', { 'x-cascade-base-url': 'https://cdn-b.example/edge' })).text();
    expect(media).toMatch(/#EXT-X-MAP:URI="https:\/\/cdn-b\.example\/edge\/live\/cdn-live\/source\/init-\d+\.mp4"/);
    expect(media).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="https:\/\/cdn-b\.example\/edge\/live\/cdn-live\/source\/\d+\.\d+\.m4s"/);
    const mpd = await get('/live/cdn-live/manifest.mpd');
    expect(mpd.headers.get('vary')).toMatch(/X-Cascade-Base-Url/);
    expect(await mpd.text()).toContain('<BaseURL>https://cdn-a.example/live/cdn-live/</BaseURL>');
  } finally {
    await stopChild(pub.child, 'SIGKILL');
  }
});
