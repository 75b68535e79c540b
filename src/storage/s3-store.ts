/**
 * Object store on any S3-compatible service. Settings verified against s3rver
 * (../shared/MACHINE-NOTES.md): checksums only WHEN_REQUIRED (else streamed
 * bodies get aws-chunked framing stored as data), ContentLength always sent.
 * S3 PUTs are atomic per object; large objects go through multipart upload.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { lengthGuard } from './length-guard.js';
import type { StorageConfig } from '../config.js';
import { checkKey, ObjectNotFoundError, StorageError, type ByteSpan, type ObjectBody, type ObjectInfo, type ObjectStore } from './types.js';

type S3Config = Extract<StorageConfig, { kind: 's3' }>;

const isNotFound = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
};

export function s3ClientConfig(c: { endpoint?: string; region: string; forcePathStyle: boolean }): S3ClientConfig {
  return {
    region: c.region,
    endpoint: c.endpoint,
    forcePathStyle: c.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 4,
  };
}

export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  constructor(readonly config: S3Config) {
    this.client = new S3Client(s3ClientConfig(config));
  }
  get location(): string {
    return `s3://${this.config.bucket}/${this.config.prefix}`;
  }
  private k(key: string): string {
    return this.config.prefix + checkKey(key);
  }

  async get(key: string, range?: ByteSpan): Promise<ObjectBody> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: this.k(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      const body = res.Body as Readable;
      const contentLength = Number(res.ContentLength ?? 0);
      const total = res.ContentRange ? Number(/\/(\d+)$/.exec(res.ContentRange)?.[1] ?? contentLength) : contentLength;
      return { body, size: total, contentLength };
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw new StorageError(`GET ${key}`, err);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const { body } = await this.get(key);
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  async put(key: string, body: Readable | Buffer, size: number, contentType?: string): Promise<void> {
    const Key = this.k(key);
    if (Buffer.isBuffer(body)) {
      if (body.length !== size) throw new Error(`body of ${body.length} bytes, declared ${size}`);
      await this.call(`PUT ${key}`, () => this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key, Body: body, ContentLength: size, ContentType: contentType })));
      return;
    }
    const guarded = lengthGuard(size);
    body.on('error', (err) => guarded.destroy(err));
    body.pipe(guarded);
    if (size >= this.config.multipartThresholdBytes) {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.config.bucket, Key, Body: guarded, ContentType: contentType },
        partSize: 16 * 1024 * 1024,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await this.call(`PUT ${key}`, () => upload.done());
      return;
    }
    // Below the multipart threshold the body is collected first: a short or failed body then
    // never reaches the server (some S3 servers store what a broken request carried).
    const parts: Buffer[] = [];
    for await (const c of guarded) parts.push(c as Buffer);
    await this.call(`PUT ${key}`, () => this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key, Body: Buffer.concat(parts), ContentLength: size, ContentType: contentType })));
  }

  async putFile(key: string, path: string, contentType?: string): Promise<void> {
    const { size } = await stat(path);
    await this.put(key, createReadStream(path), size, contentType);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.k(key) }));
      return { key, size: Number(r.ContentLength ?? 0), lastModified: r.LastModified ?? new Date(0), etag: r.ETag };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new StorageError(`HEAD ${key}`, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkKey(prefix, true);
    let token: string | undefined;
    do {
      const r = await this.call(`LIST ${prefix}`, () => this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: this.config.prefix + prefix, ContinuationToken: token })));
      for (const o of r.Contents ?? []) {
        if (!o.Key) continue;
        yield { key: o.Key.slice(this.config.prefix.length), size: Number(o.Size ?? 0), lastModified: o.LastModified ?? new Date(0), etag: o.ETag };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.call(`DELETE ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.k(key) })));
  }

  async deletePrefix(prefix: string): Promise<number> {
    let batch: string[] = [];
    let n = 0;
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      await this.call(`DELETE ${prefix}*`, () => this.client.send(new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })));
      n += batch.length;
      batch = [];
    };
    for await (const o of this.list(prefix)) {
      batch.push(this.config.prefix + o.key);
      if (batch.length === 500) await flush();
    }
    await flush();
    return n;
  }

  /** Runs one S3 call (the SDK retries it); a failure left after its retries is a StorageError. */
  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw new StorageError(what, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
