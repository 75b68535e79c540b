/** Graceful shutdown: responses in flight when the server is told to stop are finished, not cut. */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { startTestServer, publishTitle } from '../helpers/server.js';

it('close() lets a slow reader finish its segment, then refuses new connections', async () => {
  const media = await mkdtemp(join(tmpdir(), 'cascade-drain-'));
  const t = await startTestServer();
  try {
    const master = await makeMaster(join(media, 'm.mp4'), { seconds: 8, size: '1280x720' });
    const { version } = await publishTitle(t.url, 'drain', master);
    const url = new URL(`/vod/drain/${version}/720p/1.m4s`, t.url);
    const expected = Buffer.from(await (await fetch(url)).arrayBuffer()).length;

    const slow = new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
      request(url, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          // Read slowly: ~64 KiB every 20 ms.
          res.pause();
          setTimeout(() => res.resume(), 20);
        });
        res.on('end', () => resolve({ bytes, complete: res.complete }));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    await new Promise((r) => setTimeout(r, 100));
    const closing = t.server.close();
    const got = await slow;
    await closing;
    expect(got).toEqual({ bytes: expected, complete: true });
    await expect(fetch(url)).rejects.toThrow();
  } finally {
    await t.stop();
    await rm(media, { recursive: true, force: true });
  }
}, 60_000);

it('close() answers held LL-HLS requests at once (503, retry elsewhere) instead of waiting for media', async () => {
  const { createChannel, publish, waitChannel, waitSegments } = await import('../helpers/live.js');
  const { stopChild } = await import('../helpers/processes.js');
  const t = await startTestServer();
  const ch = await createChannel(t.url, 'drain-live', { ladder: 'passthrough', lowLatency: true });
  const pub = publish(ch.ingest.rtmp, { seconds: 60 });
  try {
    await waitChannel(t.url, 'drain-live', (c) => c.state === 'live');
    const text = await waitSegments(t.url, 'drain-live', 'source', 1);
    const last = Math.max(...[...text.matchAll(/\n(\d+)\.m4s/g)].map((m) => Number(m[1])));
    // Held until segment last+2 is complete: about four seconds away.
    const held = fetch(`${t.url}/live/drain-live/source/media.m3u8?_HLS_msn=${last + 2}`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await t.server.close();
    const got = await held;
    expect(got.status).toBe(503);
    expect(got.body.error.message).toMatch(/shutting down/);
    expect(performance.now() - t0).toBeLessThan(3000);
  } finally {
    await stopChild(pub.child, 'SIGKILL');
    await t.stop();
  }
}, 60_000);
