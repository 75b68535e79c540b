/**
 * S3 backend faults through a fault-injecting proxy in front of a real s3rver: 503/500 answers,
 * connections reset in the middle of an upload, answers slower than the storage timeout, the
 * server gone (SIGKILLed in the middle of a publish, then back). Retries with back-off recover; what is stored is whole (sizes and hashes checked);
 * when the retry budget is spent the error is clear and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { S3Store } from '../../src/storage/index.js';
import { startS3rver, S3RVER_ENV, type S3rver } from '../helpers/s3rver.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { makeMaster } from '../helpers/media.js';
import { api, publishTitle, startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let s3: S3rver;
let proxy: CountingProxy;
let store: S3Store;

beforeAll(async () => {
  Object.assign(process.env, S3RVER_ENV);
  s3 = await startS3rver('faults');
  proxy = await startCountingProxy(s3.endpoint);
  store = new S3Store({ kind: 's3', bucket: 'faults', prefix: '', endpoint: proxy.url, region: 'us-east-1', forcePathStyle: true, multipartThresholdBytes: 5 * 1024 * 1024 });
});

afterAll(async () => {
  await store?.close();
  await proxy?.close();
  await s3?.stop();
});

/** Fails the first `n` requests matching, then passes. */
function failFirst(n: number, method: string, status: number | 'reset'): void {
  let left = n;
  proxy.fault = (m) => (m === method && left-- > 0 ? (status === 'reset' ? { reset: true } : { status }) : undefined);
}

describe('S3 faults at the storage layer', () => {
  it('503 SlowDown twice, then the PUT goes through: the object is whole', async () => {
    const body = randomBytes(300_000);
    failFirst(2, 'PUT', 503);
    proxy.reset();
    await store.put('a/slow-down.bin', body, body.length);
    expect(proxy.count('PUT', 'slow-down')).toBe(3);
    proxy.fault = undefined;
    expect(sha(await store.getBuffer('a/slow-down.bin'))).toBe(sha(body));
  });

  it('a connection reset in the middle of an upload is retried: no short object', async () => {
    const body = randomBytes(2_000_000);
    failFirst(1, 'PUT', 'reset');
    await store.put('a/reset.bin', body, body.length);
    proxy.fault = undefined;
    const got = await store.getBuffer('a/reset.bin');
    expect(got.length).toBe(body.length);
    expect(sha(got)).toBe(sha(body));
  });

  it('multipart upload (above the threshold) survives 500s on some parts', async () => {
    const body = randomBytes(12 * 1024 * 1024);
    let n = 0;
    proxy.fault = (m, p) => (m === 'PUT' && p.includes('multi') && n++ % 3 === 1 ? { status: 500 } : undefined);
    await store.put('a/multi.bin', body, body.length);
    proxy.fault = undefined;
    expect(sha(await store.getBuffer('a/multi.bin'))).toBe(sha(body));
  }, 60_000);

  it('500 on a GET is retried', async () => {
    const body = randomBytes(1000);
    await store.put('a/get.bin', body, body.length);
    failFirst(1, 'GET', 500);
    expect(sha(await store.getBuffer('a/get.bin'))).toBe(sha(body));
    proxy.fault = undefined;
  });

  it('when every attempt fails the error is clear and nothing is stored', async () => {
    proxy.fault = (m) => (m === 'PUT' ? { status: 503 } : undefined);
    proxy.reset();
    const body = randomBytes(1000);
    await expect(store.put('a/never.bin', body, body.length)).rejects.toThrow();
    expect(proxy.count('PUT', 'never')).toBe(4); // the SDK's attempts (maxAttempts 4), with back-off
    proxy.fault = undefined;
    expect(await store.head('a/never.bin')).toBeUndefined();
  }, 60_000);
});

describe('S3 faults under the origin', () => {
  it('a title publishes through injected 503s; a storage slower than the timeout answers 504 STORAGE_TIMEOUT', async () => {
    const media = await mkdtemp(join(tmpdir(), 'cascade-s3f-'));
    let puts = 0;
    proxy.fault = (m) => (m === 'PUT' && puts++ % 4 === 0 ? { status: 503 } : undefined);
    const t = await startTestServer({ CASCADE_S3_ENDPOINT: proxy.url, CASCADE_STORAGE_TIMEOUT_MS: '500' }, { storage: 's3://faults/origin' });
    try {
      const title = await publishTitle(t.url, 'flaky', await makeMaster(join(media, 'm.mp4'), { seconds: 4, size: '640x360' }), '?ladder=draft');
      proxy.fault = undefined;
      const seg = `/vod/flaky/${/\/vod\/flaky\/(\w+)\//.exec(title.playback.hls)![1]}/${title.renditions[0].id}/1.m4s`;
      // Every media GET now takes 2 s: past the 500 ms storage timeout.
      proxy.fault = (m, p) => (m === 'GET' && p.includes('/flaky/') && p.endsWith('.mp4') ? { delayMs: 2000 } : undefined);
      const r = await fetch(new URL(seg, t.url));
      expect(r.status).toBe(504);
      expect((await r.json()).error.code).toBe('STORAGE_TIMEOUT');
      proxy.fault = undefined;
      // Once the store is quick again, the same URL is served (the timeout is not cached).
      await new Promise((res) => setTimeout(res, 2500));
      expect((await fetch(new URL(seg, t.url))).status).toBe(200);
    } finally {
      proxy.fault = undefined;
      await t.stop();
      await rm(media, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the S3 server stopped in the middle of a publish', () => {
  it('the job fails STORAGE_ERROR, nothing is published, the leftovers go once the store is back', async () => {
    const own = await startS3rver('stopped');
    const px = await startCountingProxy(own.endpoint);
    const media = await mkdtemp(join(tmpdir(), 'cascade-s3stop-'));
    // The first track reaches the store; s3rver is SIGKILLed as the second one is sent.
    let tracks = 0;
    px.fault = (m, p) => {
      if (m === 'PUT' && p.includes('/titles/gone/') && p.endsWith('.mp4') && ++tracks === 2) void own.kill();
      return tracks >= 2 ? { delayMs: 200 } : undefined;
    };
    const t = await startTestServer({ CASCADE_S3_ENDPOINT: px.url }, { storage: 's3://stopped/origin' });
    const check = new S3Store({ kind: 's3', bucket: 'stopped', prefix: 'origin', endpoint: own.endpoint, region: 'us-east-1', forcePathStyle: true, multipartThresholdBytes: 64 * 1024 * 1024 });
    try {
      const master = await makeMaster(join(media, 'm.mp4'), { seconds: 4, size: '640x360' });
      const up = await fetch(new URL('/api/v1/titles/gone/source?ladder=draft', t.url), { method: 'PUT', body: await readFile(master), headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      const { job } = await up.json();
      let j: any;
      for (let i = 0; i < 600 && !['failed', 'succeeded'].includes(j?.status); i++) {
        await new Promise((r) => setTimeout(r, 100));
        j = (await api(t.url, 'GET', `/api/v1/jobs/${job.id}`)).json;
      }
      expect(tracks).toBeGreaterThanOrEqual(2);
      expect(j.status).toBe('failed');
      expect(j.error.code).toBe('STORAGE_ERROR');
      expect(j.error.message).toMatch(/nothing was published/);
      // While the store is down the API says so (502 STORAGE_ERROR), and nothing claims the title exists.
      const during = await api(t.url, 'GET', '/api/v1/titles/gone');
      expect([during.status, during.json.error.code]).toEqual([502, 'STORAGE_ERROR']);
      // The store comes back: the first track, stored before the kill, is removed by the retried cleanup.
      px.fault = undefined;
      await own.restart();
      const keys = async (): Promise<string[]> => {
        const out = [];
        for await (const o of check.list('titles/gone/')) out.push(o.key);
        return out;
      };
      let left = await keys();
      for (let i = 0; i < 100 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        left = await keys();
      }
      expect(left).toEqual([]);
      // The title shows its failed job, never a version.
      const view = (await api(t.url, 'GET', '/api/v1/titles/gone')).json;
      expect([view.status, view.version, view.playback, view.error.code]).toEqual(['failed', undefined, null, 'STORAGE_ERROR']);
      // And the origin publishes again.
      const again = await publishTitle(t.url, 'gone', master, '?ladder=draft');
      expect((await fetch(new URL(again.playback.hls, t.url))).status).toBe(200);
    } finally {
      await check.close();
      await t.stop();
      await px.close();
      await own.stop();
      await rm(media, { recursive: true, force: true });
    }
  }, 120_000);
});
