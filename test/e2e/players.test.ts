/** hls.js, dash.js and Shaka play a published title to the end, at the lowest and highest rendition. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { playToEnd, startPlayerRig, type PlayerRig } from '../helpers/players.js';
import { startTestServer, type TestServer, publishTitle } from '../helpers/server.js';

let t: TestServer;
let rig: PlayerRig;
let title: any;
let media: string;

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'cascade-play-'));
  const master = await makeMaster(join(media, 'm.mp4'), { seconds: 10, size: '1280x720' });
  t = await startTestServer();
  title = await publishTitle(t.url, 'play', master);
  rig = await startPlayerRig();
}, 180_000);

afterAll(async () => {
  await rig?.close();
  await t?.stop();
  await rm(media, { recursive: true, force: true });
});

const cases = [
  ['hls', 'hls'],
  ['dash', 'dash'],
  ['shaka', 'hls'],
  ['shaka', 'dash'],
] as const;

describe.each(cases)('%s playing %s', (lib, proto) => {
  for (const pick of ['lowest', 'highest'] as const) {
    it(`plays to the end at the ${pick} rendition with no fatal error`, async () => {
      const src = new URL(proto === 'hls' ? title.playback.hls : title.playback.dash, t.url).toString();
      const r = await playToEnd(rig, lib, src, pick);
      expect(r.errors).toEqual([]);
      expect(r.ended, `stopped at ${r.time}s`).toBe(true);
      expect(r.time).toBeGreaterThan(9.5);
      const want = pick === 'lowest' ? '360p' : '720p';
      expect(r.videoSegments.length).toBeGreaterThanOrEqual(3);
      // Shaka 5.2 on HLS fetches the other variant's segments once while loading even when the
      // restrictions exclude it (seen here; not a manifest issue: hls.js and Shaka-on-DASH fetch
      // only the pinned rendition). For it, the played (last) segments must be the pinned ones.
      const played = lib === 'shaka' && proto === 'hls' ? r.videoSegments.slice(-3) : r.videoSegments;
      expect(new Set(played.map((s) => s.split('/')[0])), `${r.videoSegments.join(',')} levels ${JSON.stringify(r.levels)}`).toEqual(new Set([want]));
    }, 90_000);
  }
});
