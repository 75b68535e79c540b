/**
 * Overload: 2 000 concurrent playback connections against a real `cascade serve` — 1 500 slow
 * readers that never read their segment, 500 slowloris connections that never finish their
 * headers. The server's memory stays bounded, /healthz stays green and quick, and other clients
 * are served; when the crowd leaves, nothing is left behind.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeMaster } from '../helpers/media.js';
import { TEST_TOKEN, publishTitle } from '../helpers/server.js';
import { spawnServe, stopChild, type ServeProcess } from '../helpers/processes.js';

let dir: string;
let serve: ServeProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-overload-'));
  serve = await spawnServe(join(dir, 'data'), { env: { CASCADE_API_TOKEN: TEST_TOKEN, CASCADE_LADDER: 'draft' } });
}, 60_000);

afterAll(async () => {
  await stopChild(serve?.child, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

it('2 000 hostile or slow connections: bounded memory, healthz green, other clients served', async () => {
  const master = await makeMaster(join(dir, 'm.mp4'), { seconds: 8, size: '1280x720' });
  const title = await publishTitle(serve.url, 'crowd', master);
  const version = /\/vod\/crowd\/(\w+)\//.exec(title.playback.hls)![1];
  const segPath = `/vod/crowd/${version}/720p/1.m4s`;
  const segBytes = (await (await fetch(new URL(segPath, serve.url))).arrayBuffer()).byteLength;
  const pid = serve.child.pid!;
  const before = await rssMb(pid);
  const port = Number(new URL(serve.url).port);

  const sockets: net.Socket[] = [];
  const open = (payload: string): Promise<void> =>
    new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.write(payload);
        resolve();
      });
      s.on('error', () => resolve());
      // Never read: the response sits in kernel buffers and in the server's socket.
      s.pause();
      sockets.push(s);
    });
  const slow = `GET ${segPath} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const loris = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ';
  for (let i = 0; i < 2000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => open(i + k < 1500 ? slow : loris)));
  await new Promise((r) => setTimeout(r, 1500));

  const t0 = performance.now();
  const health = await fetch(new URL('/healthz', serve.url));
  const healthMs = performance.now() - t0;
  expect(health.status).toBe(200);
  expect(healthMs).toBeLessThan(2000);
  const other = await fetch(new URL(segPath, serve.url));
  expect((await other.arrayBuffer()).byteLength).toBe(segBytes);
  const master2 = await fetch(new URL(title.playback.hls, serve.url));
  expect(master2.status).toBe(200);
  const during = await rssMb(pid);
  console.log(`server RSS ${before.toFixed(0)} MB → ${during.toFixed(0)} MB with 1 500 stalled ${Math.round(segBytes / 1024)} KB responses and 500 slowloris sockets; healthz ${healthMs.toFixed(0)} ms`);
  // One shared copy of the segment in the hot cache, not one per connection (1 500 × segBytes).
  expect(during - before).toBeLessThan(200);

  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 1000));
  expect((await fetch(new URL('/healthz', serve.url))).status).toBe(200);
  expect(serve.child.exitCode).toBeNull();
}, 120_000);
