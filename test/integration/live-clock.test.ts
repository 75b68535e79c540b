/**
 * A publisher whose clock jumps (RFC 8216bis §4.4.3.1 still holds, the channel stays on the wall
 * clock): a real H.264/AAC stream sent in real time over RTMP by a bare client that re-stamps its
 * tags, one hour forward at 5 s and back to 0 at 10 s, to a passthrough and a transcoding channel;
 * and an MPEG-TS stream with the same jumps sent over SRT by srt-live-transmit (srt-tools).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FlvClock } from '../../src/ingest/live/flv-clock.js';
import { createChannel, waitChannel } from '../helpers/live.js';
import { rtmpPublish, type RawRtmp } from '../helpers/rtmp-client.js';
import { parseM3u8Strict } from '../helpers/manifests.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

let ts: TestServer;
let dir: string;
let tags: Array<{ type: number; ts: number; payload: Buffer }>;

/** The tags of an FLV file (Adobe FLV spec §E.3). */
function flvTags(flv: Buffer): Array<{ type: number; ts: number; payload: Buffer }> {
  const out = [];
  for (let o = 13; o + 11 <= flv.length; ) {
    const size = flv.readUIntBE(o + 1, 3);
    const t = flv.readUIntBE(o + 4, 3) | (flv[o + 7] << 24);
    out.push({ type: flv[o], ts: t, payload: flv.subarray(o + 11, o + 11 + size) });
    o += 11 + size + 4;
  }
  return out;
}

const SECONDS = 15;
/** The publisher's clock: true time up to 5 s, one hour ahead up to 10 s, then restarted at 0. */
const stamp = (t: number): number => (t < 5000 ? t : t < 10_000 ? t + 3_600_000 : t - 10_000);

/** Sends every tag at its real time, stamped with the jumping clock. */
async function sendJumping(c: RawRtmp): Promise<void> {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(4 * 1024 * 1024);
  c.send(2, 1, 0, size);
  const t0 = Date.now();
  for (const tag of tags) {
    const wait = t0 + tag.ts - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    c.send(tag.type === 9 ? 6 : tag.type === 8 ? 4 : 5, tag.type, 1, tag.payload, stamp(tag.ts));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-clock-'));
  const f = join(dir, 'src.flv');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', String(SECONDS),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-pix_fmt', 'yuv420p', '-b:v', '800k', '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', f]);
  tags = flvTags(await readFile(f));
  ts = await startTestServer();
}, 60_000);

afterAll(async () => {
  await ts?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('the clock repair: one shared offset re-based at forward and backward jumps, jitter left alone', () => {
  const clock = new FlvClock();
  const out = [[9, 0], [8, 0], [9, 33], [8, 21], [9, 3_600_066], [8, 3_600_042], [9, 3_600_100], [8, 30], [9, 60], [9, 58], [8, 52]].map(([type, t]) => clock.map(type, t));
  expect(out.map((o) => o.ts)).toEqual([0, 0, 33, 21, 66, 42, 100, 121, 151, 149, 143]);
  expect(out.filter((o) => o.jump).map((o) => o.jump!.deltaMs)).toEqual([3_600_000, -3_600_091]);
  expect(clock.jumps).toBe(2);
});

it('a publisher clock jumping an hour ahead and back to 0: continuous media, segments within the target, on the wall clock', async () => {
  const port = ts.server.channels.rtmpListenPort;
  const ids = ['jump-copy', 'jump-low'];
  const channels = [await createChannel(ts.url, ids[0], { ladder: 'passthrough' }), await createChannel(ts.url, ids[1], { ladder: 'low' })];
  const clients = await Promise.all(channels.map((ch, i) => rtmpPublish(port, 'live', `${ids[i]}?key=${new URL(ch.ingest.rtmp).searchParams.get('key')}`)));
  const started = Date.now();
  await Promise.all(clients.map(sendJumping));
  // Let the encoders catch up with the last second sent before reading the playlists.
  await new Promise((r) => setTimeout(r, 2500));
  for (const [i, id] of ids.entries()) {
    const ch = await waitChannel(ts.url, id, (c) => c.state === 'live');
    expect(ch.lastError ?? null).toBeNull();
    expect(ch.input.timestampJumps).toBe(2);
    const master = parseM3u8Strict(await (await fetch(`${ts.url}/live/${id}/master.m3u8`)).text());
    const rendition = master.playlists[0].uri;
    const text = await (await fetch(`${ts.url}/live/${id}/${rendition}`)).text();
    const p = parseM3u8Strict(text);
    const durations = p.segments.map((s: any) => s.duration);
    // §4.4.3.1: every EXTINF rounds to at most EXT-X-TARGETDURATION; no hour-long frame, no burst.
    for (const d of durations) expect(Math.round(d)).toBeLessThanOrEqual(p.targetDuration);
    const total = durations.reduce((a: number, b: number) => a + b, 0);
    expect(total, `${id}: ${durations.join(' ')}`).toBeGreaterThan(SECONDS - 5);
    expect(total, `${id}: ${durations.join(' ')}`).toBeLessThan(SECONDS + 1);
    // The coded stream never broke, so no discontinuity is announced.
    expect(text, id).not.toMatch(/#EXT-X-DISCONTINUITY\n/);
    // The channel clock stays on the wall clock: the newest segment ends within seconds of now.
    const k = p.segments.findLastIndex((s: any) => s.programDateTime !== undefined);
    expect(k).toBeGreaterThanOrEqual(0);
    const endMs = p.segments[k].programDateTime + durations.slice(k).reduce((a: number, b: number) => a + b, 0) * 1000;
    expect(Math.abs(endMs - Date.now()), id).toBeLessThan(8000);
    expect(endMs).toBeGreaterThan(started);
  }
  for (const c of clients) c.socket.destroy();
  for (const id of ids) await api(ts.url, 'DELETE', `/api/v1/channels/${id}`);
}, 90_000);

it('an SRT publisher whose MPEG-TS clock jumps an hour ahead and back: the same guarantees', async () => {
  // Three 5 s pieces of one stream: true time, one hour ahead, back to 0 (PCR, PTS and DTS jump).
  const parts = [0, 3600, 0].map((offset, i) => {
    const f = join(dir, `p${i}.ts`);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', '5',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-pix_fmt', 'yuv420p', '-b:v', '800k', '-maxrate', '800k', '-bufsize', '400k', '-c:a', 'aac', '-b:a', '96k',
      '-output_ts_offset', String(offset + i * 5), '-f', 'mpegts', '-muxrate', '1200k', f]);
    return f;
  });
  const stream = Buffer.concat(await Promise.all(parts.map((p) => readFile(p))));
  const ch = await createChannel(ts.url, 'jump-srt', { ladder: 'low' });
  const u = new URL(ch.ingest.srt);
  const target = `srt://127.0.0.1:${u.port}?passphrase=${u.searchParams.get('passphrase')}&pbkeylen=16&streamid=${encodeURIComponent(u.searchParams.get('streamid') ?? '')}&latency=200`;
  // srt-live-transmit (srt-tools) is the SRT caller; we pace the bytes at the stream's own rate (constant mux rate).
  const sender = spawn('srt-live-transmit', ['-q', 'file://con', target], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  sender.stderr!.on('data', (d) => (err += d));
  const started = Date.now();
  try {
    const perMs = stream.length / 15_000;
    for (let sent = 0; sent < stream.length; ) {
      const due = Math.min(stream.length, Math.round((Date.now() - started + 40) * perMs));
      if (due > sent) {
        sender.stdin!.write(stream.subarray(sent, due));
        sent = due;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const c = await waitChannel(ts.url, 'jump-srt', (x) => x.state === 'live');
    expect(c.lastError ?? null, err).toBeNull();
    const text = await (await fetch(`${ts.url}/live/jump-srt/v360/media.m3u8`)).text();
    const p = parseM3u8Strict(text);
    const durations = p.segments.map((s: any) => s.duration);
    for (const d of durations) expect(Math.round(d), durations.join(' ')).toBeLessThanOrEqual(p.targetDuration);
    const total = durations.reduce((a: number, b: number) => a + b, 0);
    expect(total, durations.join(' ')).toBeGreaterThan(SECONDS - 5);
    expect(total, durations.join(' ')).toBeLessThan(SECONDS + 1);
    const k = p.segments.findLastIndex((s: any) => s.programDateTime !== undefined);
    const endMs = p.segments[k].programDateTime + durations.slice(k).reduce((a: number, b: number) => a + b, 0) * 1000;
    expect(Math.abs(endMs - Date.now())).toBeLessThan(8000);
  } finally {
    sender.kill('SIGKILL');
    await api(ts.url, 'DELETE', '/api/v1/channels/jump-srt');
  }
}, 90_000);
