/**
 * Edge adapters: how one object gets onto an edge, how we know it is there, how it goes away.
 *   http-cache  warmed by a GET through the edge (the edge fetches from the origin and keeps it),
 *               verified by a HEAD that the edge answers from its cache (HIT / Age),
 *               purged by PURGE per URL (or one BAN of the title's prefix, or GET {purgePrefix}{path})
 *   s3          filled by copying the origin's answer (PutObject; multipart when large), skipped when
 *               the same bytes are already there (size + the origin's ETag kept as metadata),
 *               verified by HEAD, purged by deleting the title's keys
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { HttpCacheEdgeConfig, S3EdgeConfig, EdgeConfig } from '../config.js';
import { s3ClientConfig } from '../storage/s3-store.js';
import type { PushObject } from './planner.js';
import type { ErrorCode } from '../shared/errors.js';

/** A failed step, with whether trying again may help. */
export class EdgeError extends Error {
  constructor(
    readonly code: Extract<ErrorCode, 'EDGE_UNREACHABLE' | 'EDGE_TIMEOUT' | 'EDGE_HTTP_ERROR' | 'EDGE_NOT_CACHED' | 'EDGE_SIZE_MISMATCH' | 'ORIGIN_READ_FAILED'>,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'EdgeError';
  }
}

/** The origin as the push reads it (in process): status, headers, whole body. */
export type OriginFetch = (method: 'GET' | 'HEAD', path: string) => Promise<{ status: number; headers: Record<string, string | string[] | number | undefined>; body: Buffer }>;

export interface TransferContext {
  pushId: string;
  signal: AbortSignal;
  timeoutMs: number;
  /** Query string a playback URL needs (a token when signed playback is on), without '?'. */
  query?: string;
}

export interface TransferResult {
  /** Bytes moved to the edge (0 when it already had the object). */
  bytes: number;
  /** The edge had the object before this push. */
  already: boolean;
}

export interface Edge {
  readonly config: EdgeConfig;
  /** Puts the object on the edge and checks it is there. Throws EdgeError. */
  push(o: PushObject, ctx: TransferContext): Promise<TransferResult>;
  /** Removes a title's objects (`paths`; `prefix` covers them all) from the edge; returns how many. */
  purge(paths: string[], prefix: string, ctx: Omit<TransferContext, 'pushId' | 'query'>): Promise<number>;
  close(): void;
}

export function createEdge(config: EdgeConfig, origin: OriginFetch): Edge {
  return config.kind === 'http-cache' ? new HttpCacheEdge(config) : new S3Edge(config, origin);
}

const retryableStatus = (s: number): boolean => s >= 500 || s === 408 || s === 429;

/** Whether a response came from the edge's cache. */
export function isCacheHit(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, edge: Pick<HttpCacheEdgeConfig, 'hitHeader' | 'hitPattern'>): boolean {
  const get = (h: string): string | undefined => {
    const v = headers[h.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  if (edge.hitHeader) return new RegExp(edge.hitPattern ?? 'HIT', 'i').test(get(edge.hitHeader) ?? '');
  for (const h of ['x-cache', 'x-cache-status', 'cf-cache-status', 'cdn-cache-status', 'x-proxy-cache']) {
    const v = get(h);
    if (v !== undefined) return /\bHIT\b/i.test(v);
  }
  return Number(get('age') ?? 0) > 0;
}

interface HttpAnswer { status: number; headers: IncomingHttpHeaders; bytes: number }

class HttpCacheEdge implements Edge {
  private readonly agent: HttpAgent;
  private readonly base: URL;
  constructor(readonly config: HttpCacheEdgeConfig) {
    this.base = new URL(config.url);
    const opts = { keepAlive: true, maxSockets: config.concurrency + 2, keepAliveMsecs: 10_000 };
    this.agent = this.base.protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts);
  }

  /** One request through the edge; the body is read to the end (so the edge completes its fetch) and counted. */
  private request(method: string, path: string, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<HttpAnswer> {
    const url = new URL(path, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const both = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      const req = send(url, { method, headers: { 'user-agent': 'cascade-push', ...headers }, agent: this.agent, signal: both }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
        res.on('error', (err) => reject(err));
      });
      req.on('error', (err) => {
        if (signal.aborted) reject(signal.reason);
        else if (both.aborted) reject(new EdgeError('EDGE_TIMEOUT', `${method} ${url.pathname}: no answer within ${timeoutMs} ms`, true));
        else reject(new EdgeError('EDGE_UNREACHABLE', `${method} ${url.pathname}: ${(err as Error).message}`, true));
      });
      req.end();
    });
  }

  async push(o: PushObject, ctx: TransferContext): Promise<TransferResult> {
    const path = ctx.query ? `${o.path}?${ctx.query}` : o.path;
    // gzip: what every browser player sends, and what the shipped Varnish/nginx edges normalise to.
    const headers = { 'accept-encoding': 'gzip', 'x-cascade-push': ctx.pushId };
    const got = await this.request('GET', path, headers, ctx.signal, ctx.timeoutMs);
    if (got.status !== 200) throw new EdgeError('EDGE_HTTP_ERROR', `GET ${o.path} through ${this.config.name}: HTTP ${got.status}`, retryableStatus(got.status));
    if (o.kind !== 'manifest' && got.bytes !== o.bytes) throw new EdgeError('EDGE_SIZE_MISMATCH', `GET ${o.path} through ${this.config.name}: ${got.bytes} bytes, expected ${o.bytes}`, true);
    if (isCacheHit(got.headers, this.config)) return { bytes: 0, already: true };
    // Verification: the edge must now answer from its cache.
    const head = await this.request('HEAD', path, headers, ctx.signal, ctx.timeoutMs);
    if (head.status !== 200 || !isCacheHit(head.headers, this.config)) {
      throw new EdgeError('EDGE_NOT_CACHED', `${this.config.name} did not cache ${o.path} (HEAD: HTTP ${head.status}, x-cache ${String(head.headers['x-cache'] ?? head.headers['x-cache-status'] ?? '-')}, age ${String(head.headers.age ?? '-')})`, true);
    }
    return { bytes: got.bytes, already: false };
  }

  async purge(paths: string[], prefix: string, ctx: Omit<TransferContext, 'pushId' | 'query'>): Promise<number> {
    const mode = this.config.purge;
    if (mode === 'none') return 0;
    const check = (a: HttpAnswer, what: string): void => {
      // 404 from a purge means the edge did not have it: that is fine.
      if (a.status >= 400 && a.status !== 404) throw new EdgeError('EDGE_HTTP_ERROR', `${what} on ${this.config.name}: HTTP ${a.status}`, retryableStatus(a.status));
    };
    if (mode === 'ban') {
      check(await this.request('BAN', prefix, {}, ctx.signal, ctx.timeoutMs), `BAN ${prefix}`);
      return paths.length;
    }
    let n = 0;
    for (const p of paths) {
      const a = this.config.purgePrefix
        ? await this.request('GET', `${this.config.purgePrefix}${p}`, {}, ctx.signal, ctx.timeoutMs)
        : await this.request('PURGE', p, {}, ctx.signal, ctx.timeoutMs);
      check(a, `purge ${p}`);
      if (a.status < 300) n++;
    }
    return n;
  }

  close(): void {
    this.agent.destroy();
  }
}

const isNotFound = (err: unknown): boolean => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404 || (err as { name?: string })?.name === 'NotFound';

/** Objects at least this big go up in parts. */
const MULTIPART_BYTES = 16 * 1024 * 1024;

class S3Edge implements Edge {
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
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)]);
    try {
      return await op(signal);
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (isNotFound(err)) throw err;
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (signal.aborted) throw new EdgeError('EDGE_TIMEOUT', `${what} on ${this.config.name}: no answer within ${ctx.timeoutMs} ms`, true);
      if (status) throw new EdgeError('EDGE_HTTP_ERROR', `${what} on ${this.config.name}: HTTP ${status} ${(err as Error).name}`, retryableStatus(status));
      throw new EdgeError('EDGE_UNREACHABLE', `${what} on ${this.config.name}: ${(err as Error).message}`, true);
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

  async push(o: PushObject, ctx: TransferContext): Promise<TransferResult> {
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
    if (got.body.length >= MULTIPART_BYTES) {
      await this.s3(`multipart PUT ${key}`, async (abortSignal) => {
        const up = new Upload({ client: this.client, params, partSize: 8 * 1024 * 1024, queueSize: 2, leavePartsOnError: false });
        abortSignal.addEventListener('abort', () => void up.abort().catch(() => undefined), { once: true });
        return up.done();
      }, { signal: ctx.signal, timeoutMs: ctx.timeoutMs * 4 });
    } else {
      await this.s3(`PUT ${key}`, (abortSignal) => this.client.send(new PutObjectCommand(params), { abortSignal }), ctx);
    }
    const check = await this.head(key, ctx);
    if (!check || check.size !== got.body.length) throw new EdgeError('EDGE_SIZE_MISMATCH', `${this.config.name} holds ${check ? `${check.size} bytes` : 'nothing'} at ${key}, expected ${got.body.length}`, true);
    return { bytes: got.body.length, already: false };
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
