/** An s3 edge: filled by copying the origin's answers into a bucket, verified by HEAD, purged by deleting keys. */
import { DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3EdgeConfig } from '../config.js';
import { s3ClientConfig } from '../storage/s3-store.js';
import { EdgeError, retryableStatus, type Edge, type OriginFetch, type TransferContext, type TransferResult } from './edge.js';
import type { PushObject } from './planner.js';

const isNotFound = (err: unknown): boolean => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404 || (err as { name?: string })?.name === 'NotFound';

export class S3Edge implements Edge {
  private readonly client: S3Client;
  constructor(
    readonly config: S3EdgeConfig,
    private readonly origin: OriginFetch,
  ) {
    this.client = new S3Client(s3ClientConfig({ endpoint: config.endpoint, region: config.region, forcePathStyle: Boolean(config.endpoint) }));
  }

  /** The bucket key of an origin path: the same path under the edge's prefix, so the edge serves the same URLs. */
  key(path: string): string {
    return `${this.config.prefix}${path.replace(/^\/+/, '')}`;
  }

  private async s3<T>(what: string, op: (signal: AbortSignal) => Promise<T>, ctx: { signal: AbortSignal; timeoutMs: number }): Promise<T> {
    // One controller, one timer, one listener (AbortSignal.any per call costs more than the call).
    const ctl = new AbortController();
    const signal = ctl.signal;
    const onAbort = (): void => ctl.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => ctl.abort(new Error('timeout')), ctx.timeoutMs);
    try {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return await op(signal);
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (isNotFound(err)) throw err;
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (signal.aborted) throw new EdgeError('EDGE_TIMEOUT', `${what} on ${this.config.name}: no answer within ${ctx.timeoutMs} ms`, true);
      if (status) throw new EdgeError('EDGE_HTTP_ERROR', `${what} on ${this.config.name}: HTTP ${status} ${(err as Error).name}`, retryableStatus(status));
      throw new EdgeError('EDGE_UNREACHABLE', `${what} on ${this.config.name}: ${(err as Error).message}`, true);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  private async head(key: string, ctx: { signal: AbortSignal; timeoutMs: number }): Promise<{ size: number; etag?: string } | undefined> {
    try {
      const r = await this.s3(`HEAD ${key}`, (abortSignal) => this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }), { abortSignal }), ctx);
      return { size: Number(r.ContentLength ?? -1), etag: r.Metadata?.['origin-etag'] };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async transfer(o: PushObject, ctx: TransferContext): Promise<TransferResult> {
    const key = this.key(o.path);
    const path = ctx.query ? `${o.path}?${ctx.query}` : o.path;
    // The origin's ETag names the bytes: the same ETag and size on the edge means nothing to copy.
    const meta = await this.origin('HEAD', path);
    if (meta.status !== 200) throw new EdgeError('ORIGIN_READ_FAILED', `HEAD ${o.path} on the origin: HTTP ${meta.status}`, retryableStatus(meta.status));
    const etag = String(meta.headers.etag ?? '');
    const present = await this.head(key, ctx);
    if (present && etag && present.etag === etag && (o.kind === 'manifest' || present.size === o.bytes)) return { bytes: 0, already: true };
    const got = await this.origin('GET', path);
    if (got.status !== 200) throw new EdgeError('ORIGIN_READ_FAILED', `GET ${o.path} on the origin: HTTP ${got.status}`, retryableStatus(got.status));
    const params = {
      Bucket: this.config.bucket,
      Key: key,
      Body: got.body,
      ContentLength: got.body.length,
      ContentType: String(got.headers['content-type'] ?? 'application/octet-stream'),
      CacheControl: got.headers['cache-control'] ? String(got.headers['cache-control']) : undefined,
      Metadata: { 'origin-etag': String(got.headers.etag ?? etag) },
    };
    if (got.body.length >= this.config.multipartBytes) {
      await this.s3(`multipart PUT ${key}`, async (abortSignal) => {
        const up = new Upload({ client: this.client, params, partSize: Math.max(5 * 1024 * 1024, Math.ceil(this.config.multipartBytes / 2)), queueSize: 2, leavePartsOnError: false });
        abortSignal.addEventListener('abort', () => void up.abort().catch(() => undefined), { once: true });
        return up.done();
      }, { signal: ctx.signal, timeoutMs: ctx.timeoutMs * 4 });
    } else {
      await this.s3(`PUT ${key}`, (abortSignal) => this.client.send(new PutObjectCommand(params), { abortSignal }), ctx);
    }
    this.sizes.set(key, got.body.length);
    return { bytes: got.body.length, already: false };
  }

  /** Sizes of the bodies copied (a manifest's differs from the plan's estimate), for verify. */
  private readonly sizes = new Map<string, number>();

  async verify(o: PushObject, ctx: TransferContext): Promise<void> {
    const key = this.key(o.path);
    const expected = this.sizes.get(key) ?? o.bytes;
    this.sizes.delete(key);
    const check = await this.head(key, ctx);
    if (!check || check.size !== expected) throw new EdgeError('EDGE_SIZE_MISMATCH', `${this.config.name} holds ${check ? `${check.size} bytes` : 'nothing'} at ${key}, expected ${expected}`, true);
  }

  async purge(_paths: string[], prefix: string, ctx: Omit<TransferContext, 'pushId' | 'query'>): Promise<number> {
    let n = 0;
    let token: string | undefined;
    do {
      const page = await this.s3(`LIST ${prefix}`, (abortSignal) => this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: this.key(prefix), ContinuationToken: token }), { abortSignal }), ctx);
      const keys = (page.Contents ?? []).map((c) => c.Key!).filter(Boolean);
      if (keys.length) {
        await this.s3(`DELETE ${prefix}`, (abortSignal) => this.client.send(new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }), ctx);
        n += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return n;
  }

  close(): void {
    this.client.destroy();
  }
}
