/**
 * Hostile URLs against every playback and API route (fast-check): path traversal (plain,
 * percent-encoded, double-encoded), NUL, overlong ids, unicode, huge and negative numbers, odd
 * delivery directives. Every answer is a 4xx with the JSON error shape (never a 5xx), comes at
 * once, and never carries bytes from outside the object store (a canary file sits next to it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { createChannel } from '../helpers/live.js';

let t: TestServer;
const CANARY = 'CANARY-5f2b9c1e-outside-the-store';

beforeAll(async () => {
  t = await startTestServer();
  // Files a traversal would reach: the data directory (above the store) and /etc/passwd.
  await writeFile(join(t.dataDir, 'canary.txt'), CANARY);
  await createChannel(t.url, 'chan', { ladder: 'passthrough', lowLatency: true });
});

afterAll(async () => {
  await t?.stop();
});

/** Raw GET: the path goes on the wire exactly as given (fetch would normalise `..`). */
function rawGet(path: string, auth = false): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers: auth ? { authorization: `Bearer ${TEST_TOKEN}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (d: string) => (body += d.slice(0, 100_000))).on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

const segment = fc.oneof(
  fc.constantFrom('..', '%2e%2e', '%252e%252e', '.%2e', '..%2f..%2f..%2fetc%2fpasswd', '..%5c..%5c', '%00', 'a%00.m4s', '..;', '%c0%ae%c0%ae', '....//', '~', '.', ''),
  fc.string({ minLength: 1, maxLength: 8 }).map(encodeURIComponent),
  fc.constantFrom('x'.repeat(129), 'y'.repeat(300), '\u00e9t\u00e9', '\u{1F600}', 'CON', 'canary.txt', 'store', 'api-token').map(encodeURIComponent),
  fc.constantFrom('-1', '1e9', '99999999999999999999999', '0x10', 'NaN', '1.5', '007'),
);
const file = fc.constantFrom('master.m3u8', 'manifest.mpd', 'media.m3u8', 'init.mp4', 'init-1.mp4', '1.m4s', '0.0.m4s', '-1.m4s', '99999999999999.m4s', '1.99999.m4s', 'x.m4s', '%2e%2e', '');
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?_HLS_msn=-1', '?_HLS_msn=abc', '?_HLS_msn=1e99', '?_HLS_part=1', '?_HLS_msn=1&_HLS_part=-2', '?_HLS_skip=%00', '?token=..%2f', '?token=' + 'A'.repeat(5000), '?_HLS_msn=99999999999999999999&_HLS_part=99999999999'),
);
const prefix = fc.constantFrom('/vod', '/live', '/api/v1/titles', '/api/v1/jobs', '/api/v1/channels', '/console');

describe('hostile URLs', () => {
  it('never a 5xx, never a byte from outside the store, always at once', async () => {
    await fc.assert(
      fc.asyncProperty(prefix, fc.array(segment, { minLength: 1, maxLength: 4 }), file, query, fc.boolean(), async (p, segs, f, q, auth) => {
        const path = `${p}/${segs.join('/')}${f ? `/${f}` : ''}${q}`;
        const r = await rawGet(path, auth);
        expect(r.status, path).toBeGreaterThanOrEqual(400);
        expect(r.status, path).toBeLessThan(500);
        expect(r.body, path).not.toContain(CANARY);
        expect(r.body, path).not.toContain('root:x:0:0');
        expect(r.ms, path).toBeLessThan(2000);
        if (r.body.startsWith('{')) expect(JSON.parse(r.body).error.code, path).toMatch(/^[A-Z_]+$/);
      }),
      { numRuns: 1500, seed: 20261122 },
    );
  });

  it('well-formed ids that do not exist are 404 with the right code', async () => {
    for (const [path, code] of [
      ['/vod/nope/v1/master.m3u8', 'TITLE_NOT_FOUND'],
      ['/live/nope/master.m3u8', 'CHANNEL_NOT_FOUND'],
      ['/live/chan/master.m3u8', 'CHANNEL_OFFLINE'],
      ['/live/chan/source/1.0.m4s', 'LIVE_NOT_YET'],
    ] as const) {
      const r = await rawGet(path);
      expect(r.status, path).toBe(404);
      expect(JSON.parse(r.body).error.code, path).toBe(code);
    }
  });
});
