/**
 * Live channels in real players: hls.js (low-latency mode), dash.js (low latency by the
 * MPD's ServiceDescription) and Shaka, in Debian's headless Chromium, fed by a real ffmpeg
 * RTMP publisher. The publisher drops and comes back while hls.js and dash.js play.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { createChannel, publish, waitChannel, waitSegments, type Publisher } from '../helpers/live.js';
import { startPlayerRig, watchLive, type PlayerRig } from '../helpers/players.js';
import { stopChild } from '../helpers/processes.js';

let ts: TestServer;
let rig: PlayerRig;
let pub: Publisher | undefined;
let rtmp: string;
const CH = 'tv';
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

beforeAll(async () => {
  ts = await startTestServer();
  rig = await startPlayerRig();
  rtmp = (await createChannel(ts.url, CH, { ladder: 'low', lowLatency: true })).ingest.rtmp;
  pub = publish(rtmp, { seconds: 300 });
  await waitChannel(ts.url, CH, (c) => c.state === 'live');
  await waitSegments(ts.url, CH, 'v240', 2);
});

afterAll(async () => {
  await stopChild(pub?.child, 'SIGKILL');
  await rig?.close();
  await ts?.stop();
});

describe('live playback in real players', () => {
  for (const [lib, manifest] of [
    ['hls', 'master.m3u8'],
    ['dash', 'manifest.mpd'],
    ['shaka', 'master.m3u8'],
  ] as const) {
    it(`${lib} plays ${manifest} at the live edge and keeps advancing`, async () => {
      const w = await watchLive(rig, lib, `${ts.url}/live/${CH}/${manifest}`, 8);
      expect(w.errors).toEqual([]);
      expect(w.advancedSec).toBeGreaterThan(5);
      // Recorded, not a speed assertion: a player far behind the edge would not be live at all.
      console.log(`${lib} live latency median ${median(w.latencies).toFixed(2)} s over ${w.latencies.length} samples, ${w.stalls} stalls`);
      expect(median(w.latencies)).toBeLessThan(10);
    });
  }

  for (const lib of ['hls', 'dash'] as const) {
    it(`${lib} keeps playing when the encoder drops and comes back (discontinuity / new Period)`, async () => {
      const manifest = lib === 'hls' ? 'master.m3u8' : 'manifest.mpd';
      const w = await watchLive(rig, lib, `${ts.url}/live/${CH}/${manifest}`, 22, async () => {
        await new Promise((r) => setTimeout(r, 3000));
        await stopChild(pub?.child, 'SIGKILL');
        await waitChannel(ts.url, CH, (c) => c.state === 'idle');
        await new Promise((r) => setTimeout(r, 1500));
        pub = publish(rtmp, { seconds: 300 });
        await waitChannel(ts.url, CH, (c) => c.state === 'live');
      });
      expect(w.errors).toEqual([]);
      // It played across the gap: more than the 3 s before the drop.
      expect(w.advancedSec).toBeGreaterThan(8);
      const text = await (await fetch(`${ts.url}/live/${CH}/v240/media.m3u8`)).text();
      expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-\d+\.mp4"/);
      const mpd = await (await fetch(`${ts.url}/live/${CH}/manifest.mpd`)).text();
      expect((mpd.match(/<Period /g) ?? []).length).toBeGreaterThanOrEqual(2);
    });
  }

  it('stopping the channel ends playback with ENDLIST', async () => {
    expect((await api(ts.url, 'POST', `/api/v1/channels/${CH}/stop`)).status).toBe(200);
    const text = await (await fetch(`${ts.url}/live/${CH}/v240/media.m3u8`)).text();
    expect(text).toMatch(/#EXT-X-ENDLIST\n/);
  });
});
