/** Builds the fastify app from its dependencies; no I/O of its own, so tests use inject(). */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Catalog } from '../catalog/catalog.js';
import type { IngestService } from '../ingest/index.js';
import type { ChannelService } from '../ingest/live/channel-service.js';
import type { PushService } from '../push/push-service.js';
import { CascadeError, createError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { InvalidKeyError, ObjectNotFoundError, StorageError, type ObjectStore } from '../storage/index.js';
import { makeBearerCheck } from './auth.js';
import { SingleFlightTimeoutError } from '../shared/single-flight.js';
import { cacheControl, errorCacheKind } from './cache-policy.js';
import { registerCors } from './cors.js';
import { Metrics } from './metrics.js';
import { HotObjectCache, type HotCacheOptions } from './hot-cache.js';
import { ResponseMemo, type MemoOptions, type RequestShape } from './response-memo.js';
import { shieldCheck } from './shield.js';
import { installFastFront } from './fast-front.js';
import type { SigningKey } from './signed-urls.js';
import { registerApiRoutes } from './routes/api.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerPlaybackRoutes } from './routes/playback.js';

export interface AppDeps {
  logger: Logger;
  catalog: Catalog;
  store: ObjectStore;
  ingest: IngestService;
  apiToken: string;
  corsAllowedOrigins: string[];
  hotCache?: HotCacheOptions;
  /** Small-object fast path (HTTP/1.1 only); maxBytes 0 turns it off. */
  memo?: MemoOptions;
  signing?: { keys: SigningKey[]; required: boolean; ttlSec: number };
  cdnBaseUrls?: string[];
  /** HTTP/1.1 (default), HTTP/2 cleartext, or TLS (HTTP/2 with HTTP/1.1 fallback). */
  transport?: { kind: 'http1' } | { kind: 'h2c' } | { kind: 'tls'; key: Buffer; cert: Buffer };
  shieldSecret?: string;
  now?: () => Date;
  channels?: ChannelService;
  liveLatencyTargetMs?: number;
  /** Pre-positioning (plans, pushes, purges); absent: the push routes answer NO_EDGES. */
  pushes?: PushService;
  /** Each served VOD segment (title, rendition) or manifest (title): the demand that ranks `top` pushes. */
  onPlayback?: (titleId: string, rendition: string | undefined) => void;
}

const PLAYBACK_RE = /^\/vod\/([^/?]+)\/[^/?]+\/(?:([^/?]+)\/\d+\.m4s|master\.m3u8|manifest\.mpd)(?:\?|$)/;

const DEFAULT_MEMO: MemoOptions = { maxBytes: 32 * 1024 * 1024, maxObjectBytes: 64 * 1024 };

const DEFAULT_HOT_CACHE: HotCacheOptions = { maxBytes: 256 * 1024 * 1024, maxObjectBytes: 16 * 1024 * 1024, loadTimeoutMs: 10_000, negativeTtlMs: 2000 };

interface Route { kind: string; title?: string; rendition?: string }

function routeKind(url: string): string {
  if (url.startsWith('/api/')) return 'api';
  if (/\.m3u8(\?|$)/.test(url)) return 'hls-playlist';
  if (/\.mpd(\?|$)/.test(url)) return 'dash-mpd';
  if (/\/init(-\d+)?\.mp4(\?|$)/.test(url)) return 'init';
  if (/\.m4s(\?|$)/.test(url)) return 'segment';
  return 'other';
}

/**
 * Healthy = the object store answers (a HEAD of a key that need not exist), checked at most every
 * 2 s and given 2 s to answer, so a probe storm never becomes a storage storm.
 */
function storageHealth(store: ObjectStore): () => Promise<boolean> {
  let last = { at: 0, ok: true };
  let pending: Promise<boolean> | undefined;
  return async () => {
    if (Date.now() - last.at < 2000) return last.ok;
    pending ??= Promise.race([
      store.head('healthz').then(() => true, () => false),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
    ]).then((ok) => {
      last = { at: Date.now(), ok };
      pending = undefined;
      return ok;
    });
    return pending;
  };
}

export function buildApp(deps: AppDeps): { app: FastifyInstance; metrics: Metrics } {
  const transport = deps.transport ?? { kind: 'http1' };
  const metrics = new Metrics();

  /** What metrics and demand need of a URL (the fast path works it out once per remembered answer). */
  const classify = (url: string): Route => {
    const m = PLAYBACK_RE.exec(url);
    return { kind: routeKind(url), title: m?.[1], rendition: m?.[2] };
  };
  /** Every answer, from the full pipeline or the fast path: request metrics and playback demand. */
  const served = (req: RequestShape, status: number, bytes: number, seconds: number, known?: unknown): void => {
    const route = (known as Route | undefined) ?? classify(req.url ?? '');
    metrics.request(route.kind, status, bytes);
    metrics.observe(route.kind, seconds);
    // Demand, as viewers make it: a push's own requests (through an edge or in process) do not count.
    if (deps.onPlayback && route.title && status < 400 && req.method === 'GET' && !req.headers['x-cascade-push']) deps.onPlayback(route.title, route.rendition);
  };
  const memoOpts = deps.memo ?? DEFAULT_MEMO;
  const memo = transport.kind === 'http1' && memoOpts.maxBytes > 0 ? new ResponseMemo(memoOpts, served, shieldCheck(deps.shieldSecret), classify) : undefined;
  if (memo) {
    metrics.gauge('cascade_fast_path_bytes', () => memo.bytes);
    metrics.gauge('cascade_fast_path_hits_total', () => memo.hits);
    deps.catalog.onInvalidate((i) => memo.dropPrefix(`/vod/${i.titleId}/`));
  }
  const app = Fastify({
    // The small-object fast path answers before fastify when it can (HTTP/1.1).
    ...(memo
      ? {
          serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
            createHttpServer((req, res) => {
              if (!memo.serve(req, res)) handler(req, res);
            }),
        }
      : {}),
    // HTTP/2 (LL-HLS delivery recommends it): cleartext (prior knowledge) or TLS with HTTP/1.1 fallback.
    ...(transport.kind === 'h2c' ? { http2: true } : {}),
    ...(transport.kind === 'tls' ? { http2: true, https: { key: transport.key, cert: transport.cert, allowHTTP1: true } } : {}),
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // Per-request lines are off: /metrics counts requests and errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    // Keep-alive longer than typical CDN/LB idle timeouts so they close first.
    keepAliveTimeout: 65_000,
    // Ids are validated in handlers; a 2 KiB cap keeps hostile URLs cheap.
    routerOptions: { maxParamLength: 256 },
    bodyLimit: 1024 * 1024,
    // Errors the router raises before any handler (an id over maxParamLength, a malformed URL) get
    // the same JSON error shape and codes as everything else.
    frameworkErrors: (err: Error & { code?: string }, _req: unknown, reply: { code(n: number): { header(k: string, v: string): { type(t: string): { send(b: unknown): void } } } }) => {
      const e = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? createError('URI_TOO_LONG', 'a path element is longer than 256 characters') : createError('INVALID_REQUEST', `malformed request: ${err.message.slice(0, 100)}`);
      reply.code(e.status).header('Cache-Control', cacheControl('error-client')).type('application/json; charset=utf-8').send({ error: e.toJSON() });
    },
  } as never) as unknown as FastifyInstance;
  // A client that opens a connection must send its headers within 30 s (slowloris); bodies
  // (uploads of large masters) have no overall limit.
  if ('headersTimeout' in app.server) (app.server as { headersTimeout: number }).headersTimeout = 30_000;
  // fastify sets these on servers it creates, not on one from serverFactory.
  if (memo) Object.assign(app.server, { keepAliveTimeout: 65_000, requestTimeout: 0 });
  // Plain GETs of remembered answers are written before node:http parses them (fast-front.ts).
  if (memo) {
    const front = installFastFront(app.server as unknown as HttpServer, memo);
    app.addHook('preClose', async () => front.closeIdle());
  }
  const now = deps.now ?? (() => new Date());

  app.addHook('onResponse', async (req, reply) => {
    served(req.raw, reply.statusCode, Number(reply.getHeader('content-length') ?? 0), reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) req.log.warn({ url: req.url, status: reply.statusCode }, 'request failed');
  });
  if (memo) {
    app.addHook('onSend', async (req, reply, payload) => {
      memo.remember(req.raw, reply.statusCode, reply.getHeaders(), payload);
      return payload;
    });
  }

  app.setErrorHandler(async (err, req, reply) => {
    let e: CascadeError;
    if (err instanceof CascadeError) e = err;
    else if (err instanceof ObjectNotFoundError) e = createError('NOT_FOUND', 'no such object');
    else if (err instanceof SingleFlightTimeoutError) e = createError('STORAGE_TIMEOUT', err.message);
    else if (err instanceof InvalidKeyError) e = createError('NOT_FOUND', 'no such object');
    else if (err instanceof StorageError) {
      req.log.warn({ err }, 'storage failed');
      e = createError('STORAGE_ERROR', err.message);
    }
    else if ((err as { validation?: unknown }).validation || (err as { statusCode?: number }).statusCode === 400) e = createError('INVALID_REQUEST', (err as Error).message);
    else if ((err as { statusCode?: number }).statusCode === 413) e = createError('UPLOAD_TOO_LARGE', (err as Error).message);
    else if ((err as { statusCode?: number }).statusCode === 415) e = createError('INVALID_REQUEST', (err as Error).message);
    else {
      req.log.error({ err }, 'unhandled error');
      e = createError('INTERNAL', 'internal error');
    }
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    return reply
      .code(e.status)
      .header('Cache-Control', reply.getHeader('cache-control') === cacheControl('api') ? cacheControl('api') : cacheControl(errorCacheKind(e.status, e.code)))
      .type('application/json; charset=utf-8')
      .send({ error: e.toJSON() });
  });

  app.setNotFoundHandler(async (req, reply) => {
    const e = createError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}`);
    return reply.code(404).header('Cache-Control', cacheControl('error-not-found')).send({ error: e.toJSON() });
  });

  registerCors(app, deps.corsAllowedOrigins);
  registerOpsRoutes(app, { metrics, healthy: storageHealth(deps.store), now });
  metrics.gauge('cascade_jobs_queued', () => deps.ingest.list().filter((j) => j.status === 'queued').length);
  metrics.gauge('cascade_jobs_running', () => deps.ingest.list().filter((j) => j.status === 'running').length);
  const hot = new HotObjectCache(deps.store, deps.hotCache ?? DEFAULT_HOT_CACHE, metrics);
  const signing = deps.signing ?? { keys: [], required: false, ttlSec: 3600 };
  registerPlaybackRoutes(app, { catalog: deps.catalog, store: deps.store, hot, memo, signing, cdnBaseUrls: deps.cdnBaseUrls ?? [], shieldSecret: deps.shieldSecret, now,
    live: deps.channels ? { channels: deps.channels, latencyTargetMs: deps.liveLatencyTargetMs ?? 3000 } : undefined,
  });
  registerConsoleRoutes(app);
  registerApiRoutes(app, { catalog: deps.catalog, ingest: deps.ingest, checkAuth: makeBearerCheck(deps.apiToken), signing, channels: deps.channels, pushes: deps.pushes, now });
  return { app, metrics };
}

