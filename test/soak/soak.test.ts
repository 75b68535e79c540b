/**
 * The long part of the reliability suite (`npm run test:soak`; SOAK_SECONDS, default 600): a real
 * `cascade serve` with a low-latency live channel fed by a real publisher that drops and returns
 * every 150 s, LL-HLS clients following the live edge with blocking reloads, VOD clients reading
 * segments, and the API polled — for the whole period. Records the server's memory every 10 s and
 * asserts that it stays flat, that the live edge keeps moving, that nothing answers an error it
 * should not, and that no ffmpeg is left over. Figures go to .tmp/artefacts/soak.json.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { createChannel, publish, type Publisher } from '../helpers/live.js';
import { spawnServe, stopChild, type ServeProcess } from '../helpers/processes.js';
import { findProcesses } from '../../src/shared/orphans.js';
import { TEST_TOKEN, api, publishTitle } from '../helpers/server.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const artefacts = new URL('../../.tmp/artefacts/', import.meta.url).pathname;
let dir: string;
let serve: ServeProcess | undefined;
let pub: Publisher | undefined;

afterAll(async () => {
  await stopChild(pub?.child, 'SIGKILL');
  await stopChild(serve?.child, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

const rssMb = async (pid: number): Promise<number> => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

it(`serves live, VOD and the API for ${SECONDS} s with flat memory and no unexpected errors`, async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-soak-'));
  serve = await spawnServe(join(dir, 'data'), { env: { CASCADE_API_TOKEN: TEST_TOKEN, CASCADE_LADDER: 'draft', CASCADE_LIVE_DVR_SEC: '60' } });
  const base = serve.url;
  const vod = await publishTitle(base, 'soak-vod', await makeMaster(join(dir, 'm.mp4'), { seconds: 10, size: '640x360' }));
  // Every segment URL of the VOD title, as its media playlists list them.
  const vodUrls: string[] = [];
  for (const r of vod.renditions) {
    const dirUrl = `${base}/vod/soak-vod/${vod.version}/${r.id}/`;
    const text = await (await fetch(`${dirUrl}media.m3u8`)).text();
    for (const line of text.split('\n')) if (line.endsWith('.m4s')) vodUrls.push(`${dirUrl}${line}`);
  }
  const channel = await createChannel(base, 'soak', { lowLatency: true });
  const startPublisher = (): Publisher => publish(channel.ingest.rtmp, { seconds: SECONDS + 60 });
  pub = startPublisher();

  const end = Date.now() + SECONDS * 1000;
  const counts = { live: 0, vod: 0, api: 0, timeouts: 0, unexpected: [] as string[] };
  const samples: Array<{ t: number; rssMb: number; msn: number }> = [];
  let msn = -1;

  // LL-HLS client: blocking reload for the next segment, then that segment's first rendition's newest part list.
  const liveClient = async (): Promise<void> => {
    while (Date.now() < end) {
      const url = `${base}/live/soak/v360/media.m3u8${msn >= 0 ? `?_HLS_msn=${msn + 1}` : ''}`;
      const r = await fetch(url).catch(() => undefined);
      const text = r ? await r.text() : '';
      if (r?.status === 200) {
        counts.live++;
        const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
        const n = (text.match(/^#EXTINF/gm) ?? []).length;
        if (n > 0) msn = Math.max(msn, seq + n - 1);
      } else if (r?.status === 503 || r?.status === 404) {
        counts.timeouts++; // a publisher gap: held requests time out, the channel may be offline for a moment
        await new Promise((res) => setTimeout(res, 500));
      } else counts.unexpected.push(`live ${r?.status ?? 'network error'} ${url}`);
    }
  };
  // VOD client: random segments of every rendition, 20 per second.
  const vodClient = async (): Promise<void> => {
    while (Date.now() < end) {
      const url = vodUrls[Math.floor(Math.random() * vodUrls.length)];
      const r = await fetch(url).catch(() => undefined);
      await r?.arrayBuffer();
      if (r?.status === 200) counts.vod++;
      else counts.unexpected.push(`vod ${r?.status ?? 'network error'} ${url}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  const apiClient = async (): Promise<void> => {
    while (Date.now() < end) {
      const r = await api(base, 'GET', '/api/v1/channels');
      if (r.status === 200) counts.api++;
      else counts.unexpected.push(`api ${r.status}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  };
  // The publisher drops and returns every 150 s; memory is sampled every 10 s.
  const conductor = async (): Promise<void> => {
    let nextDrop = Date.now() + 150_000;
    while (Date.now() < end) {
      await new Promise((res) => setTimeout(res, 10_000));
      samples.push({ t: Math.round((SECONDS * 1000 - (end - Date.now())) / 1000), rssMb: Math.round(await rssMb(serve!.child.pid!)), msn });
      if (Date.now() > nextDrop && end - Date.now() > 30_000) {
        await stopChild(pub?.child, 'SIGKILL');
        await new Promise((res) => setTimeout(res, 3000));
        pub = startPublisher();
        nextDrop = Date.now() + 150_000;
      }
    }
  };
  await Promise.all([liveClient(), liveClient(), vodClient(), apiClient(), conductor()]);
  await stopChild(pub?.child, 'SIGKILL');

  const report = { seconds: SECONDS, counts: { ...counts, unexpected: counts.unexpected.slice(0, 20) }, samples };
  await mkdir(artefacts, { recursive: true });
  await writeFile(join(artefacts, 'soak.json'), JSON.stringify(report, null, 2));
  process.stdout.write(`soak: ${JSON.stringify({ ...report, samples: samples.map((s) => `${s.t}s ${s.rssMb}MB msn ${s.msn}`) })}\n`);

  expect(counts.unexpected).toEqual([]);
  expect(counts.vod).toBeGreaterThan(SECONDS * 5);
  // The live edge kept moving: about one 2 s segment per 2 s, gaps for the drops aside.
  expect(msn).toBeGreaterThan((SECONDS / 2) * 0.7);
  for (let i = 1; i < samples.length; i++) if (samples[i].t > 40) expect(samples[i].msn, `live edge stalled at ${samples[i].t} s`).toBeGreaterThan(samples[i - 1].msn);
  // Memory flat: the last third's median within 40 MB of the middle third's (the first third warms up).
  if (samples.length >= 6) {
    const third = Math.floor(samples.length / 3);
    const middle = median(samples.slice(third, 2 * third).map((s) => s.rssMb));
    const last = median(samples.slice(2 * third).map((s) => s.rssMb));
    expect(last - middle, JSON.stringify(samples)).toBeLessThan(40);
  }
  // No ffmpeg of the server outlives it.
  const pid = serve.child.pid!;
  const encoders = await findProcesses(({ ppid, argv }) => ppid === pid && argv.some((a) => a.endsWith('ffmpeg')));
  await stopChild(serve.child, 'SIGTERM');
  serve = undefined;
  await new Promise((res) => setTimeout(res, 1000));
  const alive = encoders.filter((p) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  });
  expect(alive).toEqual([]);
}, (SECONDS + 300) * 1000);
