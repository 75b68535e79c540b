/** One contract, two backends: the file store and the S3 store against a real s3rver. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore, ObjectNotFoundError, S3Store, type ObjectStore } from '../../src/storage/index.js';
import { startS3rver, S3RVER_ENV, type S3rver } from '../helpers/s3rver.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

let s3: S3rver;
let dir: string;
beforeAll(async () => {
  Object.assign(process.env, S3RVER_ENV);
  s3 = await startS3rver('contract');
  dir = await mkdtemp(join(tmpdir(), 'cascade-store-'));
});
afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

const backends: Array<[string, () => ObjectStore]> = [
  ['file', () => new FileStore(join(dir, 'files'))],
  ['s3', () => new S3Store({ kind: 's3', bucket: 'contract', prefix: 'pre/fix/', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, multipartThresholdBytes: 5 * 1024 * 1024 })],
];

describe.each(backends)('%s store contract', (_name, make) => {
  let store: ObjectStore;
  beforeAll(() => {
    store = make();
  });
  afterAll(async () => store.close());

  it('put/get/head round-trips bytes exactly (buffer and stream, small and multipart-sized)', async () => {
    const small = randomBytes(300_000);
    await store.put('a/small.bin', Readable.from([small]), small.length);
    const big = randomBytes(12 * 1024 * 1024 + 17);
    await store.put('a/big.bin', Readable.from([big.subarray(0, 5_000_000), big.subarray(5_000_000)]), big.length);
    for (const [k, b] of [['a/small.bin', small], ['a/big.bin', big]] as const) {
      expect((await store.head(k))?.size).toBe(b.length);
      expect(sha(await store.getBuffer(k))).toBe(sha(b));
    }
  });

  it('ranged get returns exactly the asked bytes', async () => {
    const b = randomBytes(10_000);
    await store.put('r/x', b, b.length);
    const got = await store.get('r/x', { start: 100, end: 199 });
    expect(got.size).toBe(10_000);
    expect(got.contentLength).toBe(100);
    expect((await readAll(got.body)).equals(b.subarray(100, 200))).toBe(true);
  });

  it('a body shorter than declared stores nothing', async () => {
    const short = Readable.from([Buffer.alloc(1000)]);
    await expect(store.put('bad/short', short, 5000)).rejects.toThrow();
    expect(await store.head('bad/short')).toBeUndefined();
  });

  it('putFile, list by prefix, delete and deletePrefix', async () => {
    const f = join(dir, `src-${_name}`);
    await writeFile(f, 'hello');
    await store.putFile('l/one/a.txt', f);
    await store.putFile('l/one/b.txt', f);
    await store.putFile('l/two/c.txt', f);
    const keys: string[] = [];
    for await (const o of store.list('l/one/')) keys.push(o.key);
    expect(keys.sort()).toEqual(['l/one/a.txt', 'l/one/b.txt']);
    await store.delete('l/one/a.txt');
    expect(await store.head('l/one/a.txt')).toBeUndefined();
    expect(await store.deletePrefix('l/')).toBe(2);
    const left: string[] = [];
    for await (const o of store.list('l/')) left.push(o.key);
    expect(left).toEqual([]);
  });

  it('missing objects are ObjectNotFoundError; bad keys are refused', async () => {
    await expect(store.get('nope/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.getBuffer('nope/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.put('../escape', Buffer.from('x'), 1)).rejects.toThrow(/invalid object key/);
  });

  it('lists past one page of keys', async () => {
    for (let i = 0; i < 1005; i += 1) await store.put(`many/k${String(i).padStart(4, '0')}`, Buffer.from('x'), 1);
    let n = 0;
    for await (const _ of store.list('many/')) n++;
    expect(n).toBe(1005);
    await store.deletePrefix('many/');
  }, 120_000);
});

it('file store leaves no temp files behind after a failed put', async () => {
  const store = new FileStore(join(dir, 'tmpcheck'));
  await expect(store.put('x/y', Readable.from([Buffer.alloc(10)]), 50)).rejects.toThrow();
  expect(await readdir(join(dir, 'tmpcheck', 'x'))).toEqual([]);
});
