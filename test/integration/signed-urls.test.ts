/** Signed playback URLs: the matrix over HTTP, and real clients following the tokenised manifests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkToken, signToken, titlePrefix } from '../../src/origin/signed-urls.js';
import { ffprobeJson, makeMaster } from '../helpers/media.js';
import { parseM3u8Strict } from '../helpers/manifests.js';
import { api, startTestServer, type TestServer, publishTitle } from '../helpers/server.js';

const K2 = { id: 'k2', secret: 'second-secret-0123456789' };
const K1 = { id: 'k1', secret: 'first-secret-0123456789' };
let t: TestServer;
let media: string;
let a: any;
let b: any;

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'cascade-signed-'));
  const master = await makeMaster(join(media, 'm.mp4'), { seconds: 4, size: '640x360' });
  t = await startTestServer({ CASCADE_SIGNING_KEYS: `${K2.id}:${K2.secret},${K1.id}:${K1.secret}`, CASCADE_SIGNED_PLAYBACK: 'true' });
  a = await publishTitle(t.url, 'a', master);
  b = await publishTitle(t.url, 'b', master);
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await rm(media, { recursive: true, force: true });
});

const code = async (path: string): Promise<[number, string | undefined, string | null]> => {
  const r = await fetch(new URL(path, t.url), { redirect: 'manual' });
  const body = r.headers.get('content-type')?.includes('json') ? await r.json() : (await r.arrayBuffer(), undefined);
  return [r.status, body?.error?.code, r.headers.get('cache-control')];
};

describe('signed playback', () => {
  it('the title API hands out signed URLs; manifests list every URI with the token', async () => {
    expect(a.playback.hls).toMatch(/\/master\.m3u8\?token=\d+\.k2\.[\w-]{43}$/);
    const mv = await (await fetch(new URL(a.playback.hls, t.url))).text();
    const token = a.playback.token;
    for (const p of parseM3u8Strict(mv).playlists) expect(p.uri).toBe(`${p.uri.split('?')[0]}?token=${token}`);
    const media = await (await fetch(new URL(`/vod/a/${a.version}/360p/media.m3u8?token=${token}`, t.url))).text();
    expect(media).toContain(`#EXT-X-MAP:URI="init.mp4?token=${token}"`);
    expect(media).toContain(`1.m4s?token=${token}`);
    const mpd = await (await fetch(new URL(a.playback.dash, t.url))).text();
    expect(mpd).toContain(`media="$RepresentationID$/$Number$.m4s?token=${token}"`);
  });

  it('real clients follow the tokenised manifests (ffprobe on HLS and DASH)', async () => {
    for (const url of [a.playback.hls, a.playback.dash]) {
      const p = await ffprobeJson(new URL(url, t.url).toString(), ['-show_streams']);
      expect(p.streams.map((s: any) => s.codec_type).sort()).toEqual(['audio', 'video']);
    }
  });

  it('matrix: missing, tampered, other title, expired → 403 with codes (no-store); rotated key still valid', async () => {
    const seg = `/vod/a/${a.version}/360p/1.m4s`;
    const man = `/vod/a/${a.version}/master.m3u8`;
    const now = Math.floor(Date.now() / 1000);
    const tampered = a.playback.token.slice(0, -1) + (a.playback.token.endsWith('A') ? 'B' : 'A');
    const expired = signToken([K2], titlePrefix('a'), now - 1);
    const viaOldKey = signToken([K1], titlePrefix('a'), now + 600);
    const cases: Array<[string, number, string | undefined]> = [
      [seg, 403, 'TOKEN_REQUIRED'],
      [man, 403, 'TOKEN_REQUIRED'],
      [`${seg}?token=${tampered}`, 403, 'TOKEN_INVALID'],
      [`${seg}?token=garbage`, 403, 'TOKEN_INVALID'],
      [`${seg}?token=${b.playback.token}`, 403, 'TOKEN_INVALID'],
      [`${man}?token=${expired}`, 403, 'TOKEN_EXPIRED'],
      [`${seg}?token=${viaOldKey}`, 200, undefined],
      [`${seg}?token=${a.playback.token}`, 200, undefined],
      [`/vod/b/${b.version}/360p/init.mp4?token=${b.playback.token}`, 200, undefined],
    ];
    for (const [path, status, c] of cases) {
      const [s, got, cc] = await code(path);
      expect([s, got], path).toEqual([status, c]);
      if (status === 403) expect(cc).toBe('no-store');
    }
  });

  it('the unversioned URL redirects with the token; the token endpoint issues custom lifetimes', async () => {
    const r = await fetch(new URL(`/vod/a/master.m3u8?token=${a.playback.token}`, t.url), { redirect: 'manual' });
    expect(r.headers.get('location')).toBe(`/vod/a/${a.version}/master.m3u8?token=${a.playback.token}`);
    const issued = await api(t.url, 'POST', '/api/v1/titles/a/playback-token', JSON.stringify({ ttlSec: 120 }), { 'content-type': 'application/json' });
    expect(issued.status).toBe(200);
    expect(Date.parse(issued.json.expiresAt) - Date.now()).toBeLessThanOrEqual(121_000);
    expect((await fetch(new URL(issued.json.hls, t.url))).status).toBe(200);
    expect((await api(t.url, 'POST', '/api/v1/titles/a/playback-token', JSON.stringify({ ttlSec: 5 }), { 'content-type': 'application/json' })).json.error.code).toBe('INVALID_REQUEST');
  });
});

describe('token checks (pure)', () => {
  it('a key removed from the list no longer verifies; prefixes bind to one title', () => {
    const tok = signToken([K1], titlePrefix('a'), 2_000_000_000);
    expect(checkToken([K2, K1], '/vod/a/v1/master.m3u8', tok, 1_000).ok).toBe(true);
    expect(checkToken([K2], '/vod/a/v1/master.m3u8', tok, 1_000)).toMatchObject({ ok: false, code: 'TOKEN_INVALID' });
    expect(checkToken([K1], '/vod/ab/v1/master.m3u8', tok, 1_000)).toMatchObject({ ok: false, code: 'TOKEN_INVALID' });
    expect(checkToken([K1], '/vod/a/v1/master.m3u8', tok, 2_000_000_000)).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });
  });
});

describe('signed playback of live channels', () => {
  it('channel playback URLs are signed for /live/{id}/; playlists carry the token; other tokens are refused', async () => {
    const { createChannel, publish, waitChannel } = await import('../helpers/live.js');
    const { stopChild } = await import('../helpers/processes.js');
    const ch = await createChannel(t.url, 'sig', { ladder: 'passthrough', lowLatency: true });
    const token = new URL(ch.playback.hls, t.url).searchParams.get('token')!;
    expect(ch.playback.hls).toBe(`/live/sig/master.m3u8?token=${token}`);
    expect(checkToken([K2, K1], '/live/sig/master.m3u8', token, Math.floor(Date.now() / 1000)).ok).toBe(true);
    const pub = publish(ch.ingest.rtmp, { seconds: 30 });
    try {
      await waitChannel(t.url, 'sig', (c) => c.state === 'live');
      // Without a token, or with a title's token, a live URL is refused.
      expect((await code('/live/sig/master.m3u8'))[1]).toBe('TOKEN_REQUIRED');
      expect((await code(`/live/sig/master.m3u8?${new URL(a.playback.hls, t.url).searchParams}`))[1]).toBe('TOKEN_INVALID');
      const mv = await (await fetch(new URL(ch.playback.hls, t.url))).text();
      for (const p of parseM3u8Strict(mv).playlists) expect(p.uri).toMatch(new RegExp(`\\?token=${token}$`));
      const media = await (await fetch(new URL(`/live/sig/source/media.m3u8?token=${token}`, t.url))).text();
      for (const uri of [...media.matchAll(/URI="([^"]+)"/g)].map((m) => m[1])) expect(uri).toContain(`token=${token}`);
      const issued = await api(t.url, 'POST', '/api/v1/channels/sig/playback-token', JSON.stringify({ ttlSec: 120 }), { 'content-type': 'application/json' });
      expect(issued.json.hls).toMatch(/^\/live\/sig\/master\.m3u8\?token=/);
    } finally {
      await stopChild(pub.child, 'SIGKILL');
    }
  });
});
