/**
 * S3 backend faults through a fault-injecting proxy in front of a real s3rver: 503/500 answers,
 * connections reset in the middle of an upload, answers slower than the storage timeout, the
 * server gone. Retries with back-off recover; what is stored is whole (sizes and hashes checked);
 * when the retry budget is spent the error is clear and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { S3Store } from '../../src/storage/index.js';
import { startS3rver, S3RVER_ENV, type S3rver } from '../helpers/s3rver.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { makeMaster } from '../helpers/media.js';
import { publishTitle, startTestServer } from '../helpers/server.js';
import { mkdtemp, rm } from 'node:fs/promises';
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
