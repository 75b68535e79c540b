/**
 * Live faults caused for real against `cascade serve`: the live ffmpeg is SIGKILLed under a
 * publisher (the channel says why, the publisher is let go, its reconnection continues the channel
 * after a discontinuity), and secrets (API token, stream key, SRT passphrase) never reach the logs,
 * even at debug level and when publishers are refused.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_TOKEN, api } from '../helpers/server.js';
import { createChannel, publish, waitChannel, waitSegments } from '../helpers/live.js';
import { spawnServe, stopChild, type ServeProcess } from '../helpers/processes.js';
import { findProcesses } from '../../src/shared/orphans.js';

let dir: string;
let serve: ServeProcess;
const srtBase = 31000 + Math.floor(Math.random() * 300) * 10;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-live-faults-'));
  serve = await spawnServe(join(dir, 'data'), { env: { CASCADE_API_TOKEN: TEST_TOKEN, CASCADE_LOG_LEVEL: 'debug', CASCADE_SRT_PORTS: `${srtBase}-${srtBase + 9}` } });
}, 60_000);

afterAll(async () => {
  await stopChild(serve?.child, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** ffmpeg children of the server whose command line matches. */
const ffmpegChildren = (match: RegExp): Promise<number[]> =>
  findProcesses(({ ppid, argv }) => ppid === serve.child.pid && /ffmpeg/.test(argv[0]) && match.test(argv.join(' ')));

it('the live ffmpeg killed under a publisher: reason recorded, publisher released, its return continues the channel', async () => {
  const ch = await createChannel(serve.url, 'crash', { ladder: 'low', lowLatency: true });
  const first = publish(ch.ingest.rtmp, { seconds: 60 });
  try {
    await waitChannel(serve.url, 'crash', (c) => c.state === 'live');
    await waitSegments(serve.url, 'crash', 'v360', 2);
    const [encoder] = await ffmpegChildren(/-f flv -i pipe:0/);
    expect(encoder).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(encoder, 'SIGKILL');
    // The publisher is disconnected (it would reconnect, as OBS does) and the channel says why.
    expect(await first.exited).not.toBe(0);
    const after = await waitChannel(serve.url, 'crash', (c) => c.state === 'idle');
    // A figure for docs/reliability.md, not an assertion.
    console.log(`[figure] encoder killed: publisher released and the channel idle after ${Date.now() - killedAt} ms`);
    expect(after.lastError.code).toBe('LIVE_ENCODER_FAILED');
  } finally {
    await stopChild(first.child, 'SIGKILL');
  }
  const count = ((await (await fetch(`${serve.url}/live/crash/v360/media.m3u8`)).text()).match(/#EXTINF/g) ?? []).length;
  const returnAt = Date.now();
  const again = publish(ch.ingest.rtmp, { seconds: 60 });
  try {
    await waitChannel(serve.url, 'crash', (c) => c.state === 'live');
    console.log(`[figure] encoder killed: live again ${Date.now() - returnAt} ms after the publisher's return`);
    const text = await waitSegments(serve.url, 'crash', 'v360', count + 2);
    expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-\d+\.mp4"/);
  } finally {
    await stopChild(again.child, 'SIGKILL');
  }
});

it('secrets never appear in the logs', async () => {
  const ch = await createChannel(serve.url, 'secret', { ladder: 'passthrough' });
  const key = new URL(ch.ingest.rtmp).searchParams.get('key')!;
  // A refused publisher, a refused SRT caller, and one that gets in.
  await publish(ch.ingest.rtmp.replace(key, 'f'.repeat(32)), { seconds: 3 }).exited;
  await publish(ch.ingest.srt.replace(/passphrase=\w+/, 'passphrase=wrongwrongwrong1'), { seconds: 3 }).exited;
  const ok = publish(ch.ingest.rtmp, { seconds: 20 });
  try {
    await waitChannel(serve.url, 'secret', (c) => c.state === 'live');
  } finally {
    await stopChild(ok.child, 'SIGKILL');
  }
  await api(serve.url, 'GET', '/api/v1/channels');
  await new Promise((r) => setTimeout(r, 500));
  const log = serve.log();
  expect(log.length).toBeGreaterThan(1000);
  expect(log).toMatch(/rtmp publish refused/);
  for (const secret of [TEST_TOKEN, key, ch.ingest.srtPassphrase]) expect(log).not.toContain(secret);
});
