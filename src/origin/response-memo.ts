/**
 * The small-object fast path: complete responses (status 200, headers, body) of immutable,
 * versioned VOD objects, remembered after the full fastify pipeline produced them once and
 * replayed straight onto node:http for the next identical request. A profile of a 627-byte
 * manifest under wrk put more than half of Cascade's own per-request time in fastify's routing,
 * hooks and reply machinery; replaying skips all of it.
 *
 * What may select a different representation is part of the key: the URL (with its query), and
 * the request headers the pipeline reads: Accept-Encoding (content coding), Origin (CORS),
 * X-Cascade-Base-Url (CDN base written into manifests). Anything the fast path does not answer
 * itself goes through the full pipeline: methods other than GET, conditional and Range requests,
 * an origin-shield secret that does not match, keys not remembered yet.
 *
 * Only bodies up to `maxObjectBytes` are kept (manifests, init segments): large segments are
 * served from the hot object cache, where a replay would save nothing measurable. The handlers
 * decide what is eligible (`allow`); deleted or pruned versions are dropped (`dropPrefix`), and an
 * answer rendered before such a drop is not remembered after it (`epoch`).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LruCache } from '../shared/lru-cache.js';
import { SHIELD_HEADER } from './shield.js';

export interface MemoOptions { maxBytes: number; maxObjectBytes: number }

/**
 * headers: flat [name, value, name, value…], as writeHead takes them; head: the same as an HTTP/1.1
 * status line and header block without Date and connection headers (src/origin/fast-front.ts).
 */
export interface MemoEntry {
  headers: string[];
  head: Buffer;
  body: Buffer;
  /** What the metrics need to know of the URL, worked out once (`classify`). */
  route: unknown;
  /** head + Date/connection lines + body, as last written (rebuilt when the second changes). */
  wire?: Buffer;
  wireSec?: number;
}

/** What the fast path reads of a request (an IncomingMessage, or fast-front.ts's own parse). */
export interface RequestShape { url?: string; method?: string; headers: IncomingHttpHeaders }

/** Called for every response the fast path sends, for metrics and demand (as the full pipeline's onResponse). */
export type MemoServed = (req: RequestShape, status: number, bytes: number, seconds: number, route?: unknown) => void;

/** Set per response by Node or the pipeline, never replayed. */
const HOP_OR_PER_RESPONSE = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

const EPOCH = Symbol('cascade.memo.epoch');
const ALLOWED = Symbol('cascade.memo.allowed');
type Tagged = IncomingMessage & { [EPOCH]?: number; [ALLOWED]?: boolean };

export class ResponseMemo {
  private readonly entries: LruCache<string, MemoEntry>;
  private epoch = 0;
  hits = 0;

  constructor(
    private readonly opts: MemoOptions,
    readonly served: MemoServed,
    private readonly shieldOk?: (given: unknown) => boolean,
    private readonly classify: (url: string) => unknown = () => undefined,
  ) {
    // The body is held twice at most (as is and inside `wire`).
    this.entries = new LruCache({ maxEntries: 100_000, maxSize: opts.maxBytes, sizeOf: (e) => 2 * e.body.length + 2 * e.head.length + 200 });
  }

  private static key(req: RequestShape): string {
    const h = req.headers;
    return `${req.url}\n${h['accept-encoding'] ?? ''}\n${h.origin ?? ''}\n${h['x-cascade-base-url'] ?? ''}`;
  }

  /** The remembered answer to `req`, if the fast path may give it (a GET without conditions or range, past the shield). */
  lookup(req: RequestShape): MemoEntry | undefined {
    if (req.method !== 'GET' || this.entries.size === 0) return undefined;
    const h = req.headers;
    if (h.range !== undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) return undefined;
    if (this.shieldOk && !this.shieldOk(h[SHIELD_HEADER])) return undefined;
    const e = this.entries.get(ResponseMemo.key(req));
    if (e) this.hits++;
    return e;
  }

  /** Answers `req` from memory when it can; false: the full pipeline must answer it. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    (req as Tagged)[EPOCH] = this.epoch;
    const e = this.lookup(req);
    if (!e) return false;
    const started = performance.now();
    res.writeHead(200, e.headers);
    res.end(e.body);
    this.served(req, 200, e.body.length, (performance.now() - started) / 1000, e.route);
    return true;
  }

  /** A handler's word that its answer to `req` depends only on the key (immutable, not per viewer). */
  allow(req: IncomingMessage): void {
    (req as Tagged)[ALLOWED] = true;
  }

  /** Keeps the answer the pipeline produced, when the handler allowed it and nothing was invalidated since the request came in. */
  remember(req: IncomingMessage, status: number, headers: Record<string, unknown>, payload: unknown): void {
    const t = req as Tagged;
    if (!t[ALLOWED] || status !== 200 || req.method !== 'GET' || t[EPOCH] !== this.epoch) return;
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : undefined;
    if (!body || body.length > this.opts.maxObjectBytes) return;
    const list: string[] = [];
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined || HOP_OR_PER_RESPONSE.has(k)) continue;
      list.push(k, Array.isArray(v) ? v.join(', ') : String(v));
    }
    list.push('content-length', String(body.length));
    let head = 'HTTP/1.1 200 OK\r\n';
    for (let i = 0; i < list.length; i += 2) head += `${list[i]}: ${list[i + 1]}\r\n`;
    this.entries.set(ResponseMemo.key(req), { headers: list, head: Buffer.from(head, 'latin1'), body, route: this.classify(req.url ?? '') });
  }

  /** Forgets every answer under a URL prefix (a deleted or pruned version). */
  dropPrefix(prefix: string): void {
    this.epoch++;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  get bytes(): number {
    return this.entries.totalSize;
  }
}
