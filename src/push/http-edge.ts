/** An http-cache edge (Varnish, nginx proxy_cache, a CDN hostname): warmed through its URL, verified by a HIT, purged by PURGE/BAN. */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { HttpCacheEdgeConfig } from '../config.js';
import { EdgeError, isCacheHit, retryableStatus, type Edge, type TransferContext, type TransferResult } from './edge.js';
import type { PushObject } from './planner.js';

interface HttpAnswer { status: number; headers: IncomingHttpHeaders; bytes: number }

export class HttpCacheEdge implements Edge {
  private readonly agent: HttpAgent;
  private readonly base: URL;
  constructor(readonly config: HttpCacheEdgeConfig) {
    this.warmByHead = config.warm !== 'get';
    this.base = new URL(config.url);
    const opts = { keepAlive: true, maxSockets: config.concurrency + 2, keepAliveMsecs: 10_000 };
    this.agent = this.base.protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts);
  }

  /** One request through the edge; the body is read to the end (so the edge completes its fetch) and counted. */
  private request(method: string, path: string, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<HttpAnswer> {
    const url = new URL(path, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let timedOut = false;
      // One timer and one listener per request (AbortSignal.any per request costs more than the request).
      const onAbort = (): void => void req.destroy(signal.reason as Error);
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const req = send(url, { method, headers: { 'user-agent': 'cascade-push', ...headers }, agent: this.agent }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => {
          done();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes });
        });
        res.on('error', () => undefined); // reported through req's error (destroy) or 'aborted' below
        res.on('aborted', () => req.destroy(new Error('the edge closed the connection mid-body')));
      });
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        done();
        if (signal.aborted) reject(signal.reason);
        else if (timedOut) reject(new EdgeError('EDGE_TIMEOUT', `${method} ${url.pathname}: no answer within ${timeoutMs} ms`, true));
        else reject(new EdgeError('EDGE_UNREACHABLE', `${method} ${url.pathname}: ${err.message}`, true));
      });
      req.end();
    });
  }

  private static headers(ctx: TransferContext): Record<string, string> {
    // gzip: what every browser player sends, and what the shipped Varnish/nginx edges normalise to.
    return { 'accept-encoding': 'gzip', 'x-cascade-push': ctx.pushId };
  }

  async transfer(o: PushObject, ctx: TransferContext): Promise<TransferResult> {
    const path = ctx.query ? `${o.path}?${ctx.query}` : o.path;
    const headers = HttpCacheEdge.headers(ctx);
    const method = this.warmByHead ? 'HEAD' : 'GET';
    const got = await this.request(method, path, headers, ctx.signal, ctx.timeoutMs);
    if (got.status !== 200) throw new EdgeError('EDGE_HTTP_ERROR', `${method} ${o.path} through ${this.config.name}: HTTP ${got.status}`, retryableStatus(got.status));
    const size = method === 'GET' ? got.bytes : Number(got.headers['content-length'] ?? -1);
    if (o.kind !== 'manifest' && size !== o.bytes) throw new EdgeError('EDGE_SIZE_MISMATCH', `${method} ${o.path} through ${this.config.name}: ${size} bytes, expected ${o.bytes}`, true);
    if (isCacheHit(got.headers, this.config)) return { bytes: 0, already: true };
    return { bytes: o.bytes, already: false };
  }

  /** Warm by HEAD: configured, or (auto) until a HEAD-warmed object turns out not cached. */
  private warmByHead: boolean;

  /** The edge must now answer from its cache (a HEAD costs it no body). */
  async verify(o: PushObject, ctx: TransferContext): Promise<void> {
    const path = ctx.query ? `${o.path}?${ctx.query}` : o.path;
    const head = await this.request('HEAD', path, HttpCacheEdge.headers(ctx), ctx.signal, ctx.timeoutMs);
    if (head.status !== 200 || !isCacheHit(head.headers, this.config)) {
      // This cache does not fill on HEAD: read objects through it from now on (the retry does).
      if (this.config.warm === 'auto' && head.status === 200) this.warmByHead = false;
      throw new EdgeError('EDGE_NOT_CACHED', `${this.config.name} did not cache ${o.path} (HEAD: HTTP ${head.status}, x-cache ${String(head.headers['x-cache'] ?? head.headers['x-cache-status'] ?? '-')}, age ${String(head.headers.age ?? '-')})`, true);
    }
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

