/**
 * Live inputs: SRT publishing with a per-channel passphrase, and hostile or unsupported
 * input on the ingest ports (garbage bytes, HEVC over RTMP, audio-only, takeover rules).
 * Every refusal leaves the channel able to take the next good publisher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import net from 'node:net';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { createChannel, publish, waitChannel, waitSegments } from '../helpers/live.js';
import { stopChild } from '../helpers/processes.js';
import { rtmpPublish } from '../helpers/rtmp-client.js';

let ts: TestServer;
let rtmpPort: number;

beforeAll(async () => {
  ts = await startTestServer();
  rtmpPort = ts.server.channels.rtmpListenPort;
});

afterAll(async () => {
  await ts?.stop();
});

const channel = async (id: string): Promise<any> => (await api(ts.url, 'GET', `/api/v1/channels/${id}`)).json;

describe('SRT ingest', () => {
  it('a caller with the channel passphrase goes live; a wrong passphrase is refused', async () => {
    const ch = await createChannel(ts.url, 'srt1', { ladder: 'low', lowLatency: true });
    const wrong = publish(ch.ingest.srt.replace(/passphrase=\w+/, 'passphrase=wrongwrongwrong123'), { seconds: 5 });
    expect(await wrong.exited).not.toBe(0);
    expect((await channel('srt1')).state).toBe('idle');
    const good = publish(ch.ingest.srt, { seconds: 40 });
    try {
      const live = await waitChannel(ts.url, 'srt1', (c) => c.state === 'live');
      expect(live.input.protocol).toBe('srt');
      const text = await waitSegments(ts.url, 'srt1', 'v360', 2);
      expect(text).toMatch(/#EXT-X-PART:DURATION=/);
      // While SRT is live, an RTMP publisher with the right key is refused (one publisher per channel).
      const rtmp = publish(ch.ingest.rtmp, { seconds: 5 });
      expect(await rtmp.exited).not.toBe(0);
      expect((await channel('srt1')).lastError.code).toBe('CHANNEL_BUSY');
    } finally {
      await stopChild(good.child, 'SIGKILL');
    }
    // The caller left: the channel is idle again and the listener waits for the next one.
    await waitChannel(ts.url, 'srt1', (c) => c.state === 'idle', 20_000);
  });

  it('garbage datagrams on the SRT port are ignored; a caller that returns continues the channel after a discontinuity', async () => {
    const ch = (await api(ts.url, 'GET', '/api/v1/channels/srt1')).json;
    const port = Number(new URL(ch.ingest.srt).port);
    const sock = dgram.createSocket('udp4');
    for (const size of [1, 16, 1316, 1500]) await new Promise<void>((r) => sock.send(Buffer.alloc(size, 0xab), port, '127.0.0.1', () => r()));
    sock.close();
    const back = publish(ch.ingest.srt, { seconds: 40 });
    try {
      await waitChannel(ts.url, 'srt1', (c) => c.state === 'live', 30_000);
      const before = (await (await fetch(`${ts.url}/live/srt1/v360/media.m3u8`)).text()).match(/#EXTINF/g)?.length ?? 0;
      const text = await waitSegments(ts.url, 'srt1', 'v360', before + 2);
      expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-\d+\.mp4"/);
    } finally {
      await stopChild(back.child, 'SIGKILL');
    }
  });
});

describe('hostile and unsupported RTMP input', () => {
  it('garbage on the RTMP port is dropped; the port keeps serving publishers', async () => {
    const ch = await createChannel(ts.url, 'rt1', { ladder: 'passthrough' });
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.alloc(5000, 0xff), Buffer.from([3, 1, 2])]) {
      const s = net.connect(rtmpPort, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.write(junk);
      if (junk.length === 3) s.end();
      await new Promise((r) => s.once('close', r));
    }
    // A malformed chunk stream after a good handshake.
    const raw = await rtmpPublish(rtmpPort, 'live', 'rt1?key=x');
    raw.socket.write(Buffer.from([0x43, 0xff, 0xff, 0xff]));
    await raw.closed;
    const pub = publish(ch.ingest.rtmp, { seconds: 30 });
    try {
      await waitChannel(ts.url, 'rt1', (c) => c.state === 'live');
      // Passthrough: the publisher's H.264 is repackaged, not re-encoded (one video rendition "source").
      const master = await (await fetch(`${ts.url}/live/rt1/master.m3u8`)).text();
      expect(master).toMatch(/source\/media\.m3u8/);
      expect(master).toMatch(/RESOLUTION=640x360/);
    } finally {
      await stopChild(pub.child, 'SIGKILL');
    }
  });

  it('HEVC video over RTMP is refused with a clear reason', async () => {
    const ch = await createChannel(ts.url, 'hevc1', { ladder: 'low' });
    const key = new URL(ch.ingest.rtmp).searchParams.get('key');
    const c = await rtmpPublish(rtmpPort, 'live', `hevc1?key=${key}`);
    // FLV VideoTagHeader: keyframe (1 << 4) | codec id 12 (HEVC in the legacy FLV extension).
    c.send(6, 9, 1, Buffer.from([0x1c, 0, 0, 0, 0, 1, 2, 3]));
    await c.closed;
    const after = await channel('hevc1');
    expect(after.state).toBe('idle');
    expect(after.lastError.code).toBe('LIVE_INPUT_UNSUPPORTED');
    expect(after.lastError.message).toMatch(/hevc/);
  });

  it('an audio-only publisher is refused with a clear reason', async () => {
    const ch = await createChannel(ts.url, 'radio', { ladder: 'low' });
    const p = publish(ch.ingest.rtmp, { seconds: 10, video: 'none' });
    expect(await p.exited).not.toBe(0);
    const after = await channel('radio');
    expect(after.lastError.code).toBe('LIVE_INPUT_UNSUPPORTED');
    expect(after.lastError.message).toMatch(/no video/);
  });

  it('takeover: with allowTakeover a second publisher replaces the first', async () => {
    const ch = await createChannel(ts.url, 'take', { ladder: 'passthrough', allowTakeover: true });
    const first = publish(ch.ingest.rtmp, { seconds: 60 });
    await waitChannel(ts.url, 'take', (c) => c.state === 'live');
    const since = (await channel('take')).input.since;
    const second = publish(ch.ingest.rtmp, { seconds: 60 });
    try {
      expect(await first.exited).not.toBe(0);
      await waitChannel(ts.url, 'take', (c) => c.state === 'live' && c.input.since !== since);
    } finally {
      await stopChild(first.child, 'SIGKILL');
      await stopChild(second.child, 'SIGKILL');
    }
  });

  it('an origin with CASCADE_LIVE=off answers channel routes with 409 LIVE_DISABLED and opens no ingest port', async () => {
    const off = await startTestServer({ CASCADE_LIVE: 'off' });
    try {
      const r = await api(off.url, 'PUT', '/api/v1/channels/x', '{}', { 'content-type': 'application/json' });
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe('LIVE_DISABLED');
      expect((await api(off.url, 'GET', '/api/v1/channels')).json.error.code).toBe('LIVE_DISABLED');
      expect(off.server.channels.rtmpListenPort).toBe(0);
      expect((await fetch(`${off.url}/live/x/master.m3u8`)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });

  it('no ffmpeg is left behind once channels are removed', async () => {
    for (const id of ['srt1', 'rt1', 'hevc1', 'radio', 'take']) expect((await api(ts.url, 'DELETE', `/api/v1/channels/${id}`)).status).toBe(204);
    const end = Date.now() + 10_000;
    while (ts.server.supervisor.running > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(ts.server.supervisor.running).toBe(0);
  });
});
