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
