/**
 * A Cascade restart during a live channel (the server process SIGKILLed): the channel comes
 * back with its window, numbering continues, the segment that was in production becomes an
 * EXT-X-GAP, and no URL ever serves different bytes than before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_TOKEN, api } from '../helpers/server.js';
import { createChannel, publish, waitChannel, waitSegments, type Publisher } from '../helpers/live.js';
import { spawnServe, stopChild, type ServeProcess } from '../helpers/processes.js';

let dir: string;
let serve: ServeProcess | undefined;
let pub: Publisher | undefined;
const srtBase = 30000 + Math.floor(Math.random() * 300) * 100;
const env = { CASCADE_API_TOKEN: TEST_TOKEN, CASCADE_SRT_PORTS: `${srtBase}-${srtBase + 9}` };
const sha = (b: ArrayBuffer): string => createHash('sha256').update(Buffer.from(b)).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-live-restart-'));
  serve = await spawnServe(join(dir, 'data'), { env });
});

afterAll(async () => {
  await stopChild(pub?.child, 'SIGKILL');
  await stopChild(serve?.child, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('restart during a live channel', () => {
  it('keeps the window and continues the numbering without reusing a URL', async () => {
    const base = serve!.url;
    const ch = await createChannel(base, 'r1', { ladder: 'low', lowLatency: true });
    pub = publish(ch.ingest.rtmp, { seconds: 120 });
    await waitChannel(base, 'r1', (c) => c.state === 'live');
    await waitSegments(base, 'r1', 'v240', 3);
    const before = await (await fetch(`${base}/live/r1/v240/media.m3u8`)).text();
    const segs = [...before.matchAll(/\n(\d+)\.m4s/g)].map((m) => Number(m[1]));
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(before)![1];
    const hashes = new Map<string, string>();
    for (const name of [init, ...segs.map((n) => `${n}.m4s`)]) hashes.set(name, sha(await (await fetch(`${base}/live/r1/v240/${name}`)).arrayBuffer()));
    const lastOpen = Number(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\./.exec(before)![1]);

    // Kill the server the hard way; the publisher loses its connection.
    await stopChild(serve!.child, 'SIGKILL');
    await stopChild(pub.child, 'SIGKILL');
    const restartAt = Date.now();
    serve = await spawnServe(join(dir, 'data'), { env, port: Number(new URL(base).port) });
    // A figure for docs/reliability.md, not an assertion.
    console.log(`[figure] restart: serving again ${Date.now() - restartAt} ms after the kill`);
    const restored = (await api(base, 'GET', '/api/v1/channels/r1')).json;
    expect(restored.state).toBe('idle');

    // The window is back, served from storage with the same bytes.
    const after = await (await fetch(`${base}/live/r1/v240/media.m3u8`)).text();
    for (const [name, h] of hashes) {
      expect(after).toContain(name);
      expect(sha(await (await fetch(`${base}/live/r1/v240/${name}`)).arrayBuffer()), name).toBe(h);
    }

    // A new publisher continues the channel after a discontinuity, with new numbers only.
    const returnAt = Date.now();
    pub = publish(restored.ingest.rtmp, { seconds: 120 });
    await waitChannel(base, 'r1', (c) => c.state === 'live');
    console.log(`[figure] restart: live again ${Date.now() - returnAt} ms after the publisher's return`);
    const segCount = (before.match(/#EXTINF/g) ?? []).length;
    const text = await waitSegments(base, 'r1', 'v240', segCount + 2);
    expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-\d+\.mp4"/);
    const newInit = [...text.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]).at(-1);
    expect(newInit).not.toBe(init);
    // The segment that was open when the server died is a gap, never remade.
    expect(text).toContain(`#EXT-X-GAP\n#EXTINF:2,\n${lastOpen}.m4s`);
    const numbers = [...text.matchAll(/\n(\d+)\.m4s/g)].map((m) => Number(m[1]));
    numbers.forEach((n, i) => i > 0 && expect(n).toBe(numbers[i - 1] + 1));
    expect(Math.max(...numbers)).toBeGreaterThan(lastOpen);
    // hls.js-style parse check: media sequence and discontinuity sequence are consistent.
    expect(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? '0').toBe(String(numbers[0]));
  });
});
