/**
 * LL-HLS and live DASH rules checked over HTTP against a live channel fed by a real
 * ffmpeg RTMP publisher (draft-pantos-hls-rfc8216bis §4.4.3–4.4.5, §6.2.5; ISO/IEC
 * 23009-1 dynamic MPD validated with the ISO schema).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { createChannel, publish, timedGet, waitChannel, waitSegments, type Publisher } from '../helpers/live.js';
import { MPD_SCHEMA, parseM3u8Strict, parseMpdStrict } from '../helpers/manifests.js';
import { stopChild } from '../helpers/processes.js';

let ts: TestServer;
let pub: Publisher | undefined;
let base: string;
const CH = 'news';

const attr = (line: string, name: string): string | undefined => new RegExp(`${name}=("[^"]*"|[^,]*)`).exec(line)?.[1]?.replace(/"/g, '');
const tagLines = (text: string, tag: string): string[] => text.split('\n').filter((l) => l.startsWith(`${tag}:`) || l === tag);
const playlist = (r: string, q = ''): string => `${base}/live/${CH}/${r}/media.m3u8${q}`;

beforeAll(async () => {
  ts = await startTestServer();
  base = ts.url;
  const ch = await createChannel(base, CH, { ladder: 'low', lowLatency: true, dvrWindowSec: 60 });
  expect(ch.state).toBe('idle');
  expect(ch.ingest.rtmp).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live\/news\?key=[0-9a-f]{32}$/);
  expect(ch.ingest.srt).toMatch(/^srt:\/\/127\.0\.0\.1:\d+\?mode=caller&passphrase=/);
});

afterAll(async () => {
  await stopChild(pub?.child, 'SIGKILL');
  await ts?.stop();
});

describe('RTMP publish authentication', () => {
  it('refuses a wrong stream key at publish time and records why', async () => {
    const ch = (await api(base, 'GET', `/api/v1/channels/${CH}`)).json;
    const bad = publish(ch.ingest.rtmp.replace(/key=\w+/, 'key=0123456789abcdef0123456789abcdef'), { seconds: 5 });
    expect(await bad.exited).not.toBe(0);
    expect(bad.stderr()).toMatch(/wrong stream key|Server error/);
    const after = (await api(base, 'GET', `/api/v1/channels/${CH}`)).json;
    expect(after.state).toBe('idle');
    expect(after.lastError.code).toBe('LIVE_AUTH_FAILED');
    // The channel has no media: playback answers a clear 404 quickly.
    const m = await timedGet(`${base}/live/${CH}/master.m3u8`);
    expect(m.status).toBe(404);
    expect(JSON.parse(m.text).error.code).toBe('CHANNEL_OFFLINE');
  });

  it('accepts the right key: the channel goes live', async () => {
    const ch = (await api(base, 'GET', `/api/v1/channels/${CH}`)).json;
    pub = publish(ch.ingest.rtmp, { seconds: 120 });
    const live = await waitChannel(base, CH, (c) => c.state === 'live');
    expect(live.input).toMatchObject({ protocol: 'rtmp', videoCodec: 'h264', audioCodec: 'aac' });
    await waitSegments(base, CH, 'v360', 3);
  });
});

describe('LL-HLS playlists (RFC 8216bis)', () => {
  it('a second publisher is refused while one is live', async () => {
    const ch = (await api(base, 'GET', `/api/v1/channels/${CH}`)).json;
    const second = publish(ch.ingest.rtmp, { seconds: 5 });
    expect(await second.exited).not.toBe(0);
    expect((await api(base, 'GET', `/api/v1/channels/${CH}`)).json.lastError.code).toBe('CHANNEL_BUSY');
  });

  it('multivariant lists every rendition with codecs, and audio as a group', async () => {
    const m = await timedGet(`${base}/live/${CH}/master.m3u8`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const parsed = parseM3u8Strict(m.text);
    expect(parsed.playlists.map((p: any) => p.uri)).toEqual(['v360/media.m3u8', 'v240/media.m3u8']);
    expect(parsed.playlists[0].attributes.CODECS).toMatch(/^avc1\.\w{6},mp4a\.40\.2$/);
    expect(Object.keys(parsed.mediaGroups.AUDIO.audio)).toHaveLength(1);
  });

  it('every rendition declares the same server control, part target and target duration', async () => {
    const texts = await Promise.all(['v360', 'v240', 'audio'].map(async (r) => (await timedGet(playlist(r))).text));
    const controls = texts.map((t) => tagLines(t, '#EXT-X-SERVER-CONTROL')[0]);
    expect(new Set(controls).size).toBe(1);
    const partInf = new Set(texts.map((t) => tagLines(t, '#EXT-X-PART-INF')[0]));
    expect(partInf.size).toBe(1);
    const td = Number(tagLines(texts[0], '#EXT-X-TARGETDURATION')[0].split(':')[1]);
    const pt = Number(attr([...partInf][0], 'PART-TARGET'));
    const sc = controls[0];
    expect(attr(sc, 'CAN-BLOCK-RELOAD')).toBe('YES');
    // §4.4.3.8: PART-HOLD-BACK ≥ 2 × PART-TARGET (we keep 3×), HOLD-BACK ≥ 3 × TD, CAN-SKIP-UNTIL ≥ 6 × TD.
    expect(Number(attr(sc, 'PART-HOLD-BACK'))).toBeGreaterThanOrEqual(3 * pt - 1e-9);
    expect(Number(attr(sc, 'HOLD-BACK'))).toBeGreaterThanOrEqual(3 * td);
    expect(Number(attr(sc, 'CAN-SKIP-UNTIL'))).toBeGreaterThanOrEqual(6 * td);
    for (const t of texts) {
      expect(t).toMatch(/^#EXTM3U\n#EXT-X-VERSION:9\n/);
      expect(t).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT/);
      expect(t).toMatch(/#EXT-X-MAP:URI="init-\d+\.mp4"/);
      // m3u8-parser (the VHS/video.js parser) reads it without a warning.
      const p = parseM3u8Strict(t);
      expect(p.targetDuration).toBe(td);
      expect(p.partTargetDuration).toBe(pt);
      // It keeps the open segment's parts and the hint as `preloadSegment`.
      expect(p.preloadSegment.preloadHints).toHaveLength(1);
      expect(p.renditionReports).toHaveLength(2);
    }
  });

  it('parts: DURATION ≤ PART-TARGET, ≥ 85 % of it except a segment\'s last, INDEPENDENT on video keyframes', async () => {
    await waitSegments(base, CH, 'v360', 4);
    for (const r of ['v360', 'v240', 'audio']) {
      const text = (await timedGet(playlist(r))).text;
      const pt = Number(attr(tagLines(text, '#EXT-X-PART-INF')[0], 'PART-TARGET'));
      const lines = text.split('\n');
      let seg: Array<{ d: number; ind: boolean }> = [];
      const segments: Array<typeof seg> = [];
      for (const l of lines) {
        if (l.startsWith('#EXT-X-PART:')) seg.push({ d: Number(attr(l, 'DURATION')), ind: attr(l, 'INDEPENDENT') === 'YES' });
        if (l.startsWith('#EXTINF')) {
          segments.push(seg);
          seg = [];
        }
      }
      expect(segments.filter((s) => s.length > 0).length).toBeGreaterThan(0);
      for (const s of segments.filter((x) => x.length > 0)) {
        s.forEach((p, i) => {
          expect(p.d).toBeLessThanOrEqual(pt);
          if (i < s.length - 1) expect(p.d).toBeGreaterThanOrEqual(0.85 * pt);
        });
        expect(s[0].ind).toBe(true);
      }
    }
  });

  it('renditions are in step and report each other (EXT-X-RENDITION-REPORT)', async () => {
    const text = (await timedGet(playlist('v360'))).text;
    const reports = tagLines(text, '#EXT-X-RENDITION-REPORT');
    expect(reports.map((l) => attr(l, 'URI'))).toEqual(['../v240/media.m3u8', '../audio/media.m3u8']);
    const ownLast = Math.max(...[...text.matchAll(/URI="(\d+)\.\d+\.m4s"/g)].map((m) => Number(m[1])));
    for (const l of reports) {
      expect(Math.abs(Number(attr(l, 'LAST-MSN')) - ownLast)).toBeLessThanOrEqual(1);
      expect(Number(attr(l, 'LAST-PART'))).toBeGreaterThanOrEqual(0);
    }
  });

  it('blocking reload holds until the hinted part exists, then answers the playlist that has it', async () => {
    const text = (await timedGet(playlist('v360'))).text;
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"/.exec(text)!;
    const [msn, part] = [Number(hint[1]), Number(hint[2])];
    const r = await timedGet(playlist('v360', `?_HLS_msn=${msn}&_HLS_part=${part}`));
    expect(r.status).toBe(200);
    expect(r.text).toContain(`URI="${msn}.${part}.m4s"`);
    // The answer was held (the part did not exist when asked) and came within one part target or so.
    expect(r.ms).toBeLessThan(6000);
    expect(r.headers.get('cache-control')).toBe('public, max-age=12');
    // Without a part: held until segment msn is complete.
    const whole = await timedGet(playlist('v360', `?_HLS_msn=${msn}`));
    expect(whole.status).toBe(200);
    expect(whole.text).toMatch(new RegExp(`#EXTINF:[\\d.]+,\\n${msn}\\.m4s`));
  });

  it('the preload-hinted part is held, then sent whole', async () => {
    const text = (await timedGet(playlist('audio'))).text;
    const uri = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)![1];
    const r = await fetch(`${base}/live/${CH}/audio/${uri}`);
    expect(r.status).toBe(200);
    const body = Buffer.from(await r.arrayBuffer());
    expect(Number(r.headers.get('content-length'))).toBe(body.length);
    expect(body.subarray(4, 8).toString()).toBe('moof');
    expect(r.headers.get('cache-control')).toMatch(/immutable/);
  });

  it('bad directives are refused at once with 400 (§6.2.5.2)', async () => {
    const text = (await timedGet(playlist('v360'))).text;
    const last = Number(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\./.exec(text)![1]);
    for (const q of ['?_HLS_part=1', '?_HLS_msn=-1', '?_HLS_msn=abc', '?_HLS_msn=1e3', '?_HLS_msn=99999999999999999999', `?_HLS_msn=${last + 3}`, `?_HLS_msn=${last + 2}&_HLS_part=9`, '?_HLS_skip=NO', '?_HLS_msn=1&_HLS_part=x']) {
      const r = await timedGet(playlist('v360', q));
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.text).error.code, q).toBe('LIVE_BAD_DIRECTIVE');
      expect(r.ms, q).toBeLessThan(1000);
    }
    // The channel is unaffected.
    expect((await timedGet(playlist('v360'))).status).toBe(200);
  });

  it('delta updates: _HLS_skip=YES replaces old segments with EXT-X-SKIP', async () => {
    // CAN-SKIP-UNTIL is 12 s: wait until the window is longer than that.
    await waitSegments(base, CH, 'v360', 8, 60_000);
    const full = (await timedGet(playlist('v360'))).text;
    const delta = (await timedGet(playlist('v360', '?_HLS_skip=YES'))).text;
    const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(delta)?.[1]);
    expect(skipped).toBeGreaterThan(0);
    expect(delta).toMatch(/#EXT-X-VERSION:9/);
    const count = (t: string): number => (t.match(/#EXTINF/g) ?? []).length;
    expect(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(delta)?.[1]).toBe(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(full)?.[1]);
    expect(count(delta) + skipped).toBeGreaterThanOrEqual(count(full));
    expect(count(delta) + skipped).toBeLessThanOrEqual(count(full) + 1);
  });

  it('cache headers per object kind (RFC 8216bis Appendix B.1)', async () => {
    const pl = await timedGet(playlist('v360'));
    expect(pl.headers.get('cache-control')).toBe('public, max-age=1');
    expect(pl.headers.get('etag')).toBeTruthy();
    const again = await fetch(playlist('v360'), { headers: { 'if-none-match': pl.headers.get('etag')! } });
    expect([200, 304]).toContain(again.status);
    const seg = /\n(\d+)\.m4s/.exec(pl.text)![1];
    const s = await fetch(`${base}/live/${CH}/v360/${seg}.m4s`, { method: 'HEAD' });
    expect(s.headers.get('cache-control')).toMatch(/immutable/);
    const future = await timedGet(`${base}/live/${CH}/v360/99999.0.m4s`);
    expect(future.status).toBe(404);
    expect(future.headers.get('cache-control')).toBe('public, max-age=1');
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(pl.text)![1];
    const init = await fetch(`${base}/live/${CH}/v360/${map}`);
    expect(init.status).toBe(200);
    expect(init.headers.get('cache-control')).toMatch(/immutable/);
    const gz = await fetch(playlist('v360'), { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^cascade_live_channels 1$/m);
    expect(metrics).toMatch(/^cascade_live_channels_live 1$/m);
    expect(metrics).toMatch(/^cascade_live_held_requests \d+$/m);
  });
});

describe('live DASH (ISO/IEC 23009-1, DASH-IF IOP low latency)', () => {
  it('dynamic MPD with UTCTiming, ServiceDescription and availabilityTimeOffset validates against the schema', async () => {
    const r = await timedGet(`${base}/live/${CH}/manifest.mpd`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=1');
    const xml = r.text;
    expect(xml).toMatch(/type="dynamic"/);
    expect(xml).toMatch(/<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="\/time"\/>/);
    expect(xml).toMatch(/<Latency referenceId="0" target="\d+"/);
    expect(xml).toMatch(/availabilityTimeOffset="[\d.]+" availabilityTimeComplete="false"/);
    expect(xml).toMatch(/<ProducerReferenceTime id="0" type="encoder" wallClockTime=/);
    const dir = mkdtempSync(join(tmpdir(), 'mpd-'));
    writeFileSync(join(dir, 'live.mpd'), xml);
    execFileSync('xmllint', ['--noout', '--schema', MPD_SCHEMA, join(dir, 'live.mpd')], { stdio: 'pipe' });
    const parsed = parseMpdStrict(xml, `${base}/live/${CH}/manifest.mpd`);
    expect(parsed.playlists.length).toBe(2);
  });

  it('the segment in production is sent chunk by chunk as it is made', async () => {
    const text = (await timedGet(playlist('v360'))).text;
    const open = Number(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\./.exec(text)![1]);
    const t0 = performance.now();
    const res = await fetch(`${base}/live/${CH}/v360/${open}.m4s`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBeNull();
    const reader = res.body!.getReader();
    let bytes = 0;
    let reads = 0;
    let firstAt = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (reads === 0) firstAt = performance.now() - t0;
      reads++;
      bytes += value.length;
    }
    const total = performance.now() - t0;
    expect(bytes).toBeGreaterThan(1000);
    expect(reads).toBeGreaterThan(3);
    // The first bytes came well before the segment was finished.
    expect(firstAt).toBeLessThan(total);
  });
});

describe('publisher gone and channel stop', () => {
  it('a blocking reload for a segment that never comes answers 503 after three target durations', async () => {
    await stopChild(pub?.child, 'SIGKILL');
    await waitChannel(base, CH, (c) => c.state === 'idle');
    const text = (await timedGet(playlist('v360'))).text;
    const last = Math.max(...[...text.matchAll(/\n(\d+)\.m4s/g)].map((m) => Number(m[1])));
    const r = await timedGet(playlist('v360', `?_HLS_msn=${last + 1}`));
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text).error.code).toBe('LIVE_TIMEOUT');
    expect(r.ms).toBeGreaterThanOrEqual(5500);
  });

  it('stopping the channel ends the presentation: ENDLIST, directives ignored, static MPD', async () => {
    const stopped = await api(base, 'POST', `/api/v1/channels/${CH}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.json.state).toBe('stopped');
    const text = (await timedGet(playlist('v360'))).text;
    expect(text).toMatch(/#EXT-X-ENDLIST/);
    expect(text).not.toMatch(/PRELOAD-HINT/);
    const r = await timedGet(playlist('v360', '?_HLS_msn=999999&_HLS_part=0'));
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(1000);
    const mpd = (await timedGet(`${base}/live/${CH}/manifest.mpd`)).text;
    expect(mpd).toMatch(/type="static"/);
    expect(mpd).toMatch(/mediaPresentationDuration=/);
    const dir = mkdtempSync(join(tmpdir(), 'mpd-'));
    writeFileSync(join(dir, 'ended.mpd'), mpd);
    execFileSync('xmllint', ['--noout', '--schema', MPD_SCHEMA, join(dir, 'ended.mpd')], { stdio: 'pipe' });
  });

  it('the stopped channel\'s window is kept as a VOD title that plays', async () => {
    const ch = await waitChannel(base, CH, (c) => c.archive?.status !== 'running', 60_000);
    expect(ch.archive).toMatchObject({ status: 'done', titleId: CH });
    const title = (await api(base, 'GET', `/api/v1/titles/${CH}`)).json;
    expect(title.status).toBe('ready');
    expect(title.durationSec).toBeGreaterThan(10);
    expect(title.renditions.map((r: any) => r.id).sort()).toEqual(['audio', 'v240', 'v360']);
    const master = await timedGet(new URL(ch.archive.playback.hls, base).toString());
    const variant = parseM3u8Strict(master.text).playlists[0].uri;
    const media = parseM3u8Strict(await (await fetch(new URL(variant, new URL(ch.archive.playback.hls, base)))).text());
    expect(media.endList).toBe(true);
    expect(media.segments[0].timeline).toBe(0);
    const total = media.segments.reduce((n: number, s: any) => n + s.duration, 0);
    expect(Math.abs(total - title.durationSec)).toBeLessThan(1);
    // Deleting the channel keeps the title.
    expect((await api(base, 'DELETE', `/api/v1/channels/${CH}`)).status).toBe(204);
    expect((await api(base, 'GET', `/api/v1/titles/${CH}`)).json.status).toBe('ready');
  });

  it('DELETE removed the channel', async () => {
    expect((await api(base, 'GET', `/api/v1/channels/${CH}`)).status).toBe(404);
    expect((await timedGet(playlist('v360'))).status).toBe(404);
  });
});
