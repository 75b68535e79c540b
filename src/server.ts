/** Composition root: config → store, catalog, supervisor, ingest, app. Owns startup and orderly shutdown. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { Catalog } from './catalog/catalog.js';
import { IngestService } from './ingest/index.js';
import { ChannelService } from './ingest/live/channel-service.js';
import { buildApp } from './origin/index.js';
import { createLogger, type Logger } from './shared/logger.js';
import { writeFileAtomic } from './shared/fs-util.js';
import { Supervisor } from './shared/supervisor.js';
import { openStore, type ObjectStore } from './storage/index.js';
import { PushService } from './push/push-service.js';
import type { OriginFetch } from './push/edge.js';
import { signToken, titlePrefix } from './origin/signed-urls.js';

export interface Server {
  app: FastifyInstance;
  config: Config;
  store: ObjectStore;
  catalog: Catalog;
  ingest: IngestService;
  channels: ChannelService;
  pushes: PushService;
  supervisor: Supervisor;
  apiToken: string;
  /** True when the token was generated (and saved) by this start. */
  tokenGenerated: boolean;
  logger: Logger;
  close(): Promise<void>;
}

/** The API token: configured, or read from / generated into {dataDir}/api-token (mode 600). */
async function resolveToken(config: Config): Promise<{ token: string; generated: boolean }> {
  if (config.apiToken) return { token: config.apiToken, generated: false };
  const path = join(config.dataDir, 'api-token');
  try {
    const t = (await readFile(path, 'utf8')).trim();
    if (t.length >= 16) return { token: t, generated: false };
  } catch {
    // generate below
  }
  const token = randomBytes(24).toString('base64url');
  await writeFileAtomic(path, `${token}\n`);
  await chmod(path, 0o600);
  return { token, generated: true };
}

export async function createServer(config: Config, opts: { logger?: Logger } = {}): Promise<Server> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  await mkdir(config.dataDir, { recursive: true });
  const { token, generated } = await resolveToken(config);
  const store = openStore(config.storage);
  const catalog = new Catalog(store, logger.child({ component: 'catalog' }));
  // Leftovers of a publish that failed while the store was down go once it answers again.
  const cleanupTimer = setInterval(() => void catalog.retryCleanups(), 5000).unref();
  const supervisor = new Supervisor(logger.child({ component: 'supervisor' }));
  const ingest = new IngestService(
    {
      dataDir: config.dataDir,
      ffmpegPath: config.ffmpegPath,
      ffprobePath: config.ffprobePath,
      concurrency: config.jobConcurrency,
      maxAttempts: config.jobMaxAttempts,
      stallSec: config.encodeStallSec,
      maxUploadBytes: config.maxUploadBytes,
      uploadIdleMs: config.uploadIdleSec * 1000,
      defaultLadder: config.defaultLadder,
    },
    catalog,
    supervisor,
    logger.child({ component: 'ingest' }),
  );
  const channels = new ChannelService(
    {
      ffmpegPath: config.ffmpegPath,
      rtmpHost: config.live.ingestHost,
      rtmpPort: config.live.rtmpPort,
      srtHost: config.live.ingestHost,
      srtPorts: config.live.srtPorts,
      publicHost: config.live.publicHost,
      segmentSec: config.live.segmentSec,
      partSec: config.live.partSec,
      dvrWindowSec: config.live.dvrWindowSec,
      srtLatencyMs: config.live.srtLatencyMs,
    },
    store,
    supervisor,
    logger.child({ component: 'live' }),
    undefined,
    catalog,
  );
  // The push reads the origin in process (no socket), as a player would see it: with the shield
  // header when one is configured, and a token when signed playback is required.
  let appRef: FastifyInstance | undefined;
  const originFetch: OriginFetch = async (method, path) => {
    const res = await appRef!.inject({ method, url: path, headers: { 'x-cascade-push': '1', 'accept-encoding': 'identity', ...(config.shieldSecret ? { 'x-cascade-shield': config.shieldSecret } : {}) } });
    return { status: res.statusCode, headers: res.headers, body: res.rawPayload };
  };
  const pushCounters = { objects: undefined as undefined | ((l: Record<string, string>) => void), bytes: undefined as undefined | ((l: Record<string, string>, n: number) => void) };
  const pushes = new PushService(
    {
      dataDir: config.dataDir,
      edges: config.edges,
      cdnBaseUrls: config.cdnBaseUrls,
      demandHalfLifeHours: config.push.demandHalfLifeHours,
      headSec: config.push.headSec,
      maxAttempts: config.push.maxAttempts,
      timeoutMs: config.push.timeoutMs,
    },
    catalog,
    originFetch,
    logger.child({ component: 'push' }),
    { object: (edge, result) => pushCounters.objects?.({ edge, result }), bytes: (edge, n) => pushCounters.bytes?.({ edge }, n) },
    config.signing.required ? (id) => `token=${signToken(config.signing.keys, titlePrefix(id), Math.floor(Date.now() / 1000) + 3600)}` : undefined,
  );
  const { app, metrics } = buildApp({
    pushes: config.edges.length ? pushes : undefined,
    onPlayback: (title, rendition) => pushes.demand.record(title, rendition),
    channels: config.live.enabled ? channels : undefined,
    liveLatencyTargetMs: config.live.latencyTargetMs,
    logger,
    catalog,
    store,
    ingest,
    apiToken: token,
    corsAllowedOrigins: config.corsAllowedOrigins,
    signing: config.signing,
    cdnBaseUrls: config.cdnBaseUrls,
    transport:
      config.http2 === 'tls'
        ? { kind: 'tls', cert: await readFile(config.tlsCertFile!), key: await readFile(config.tlsKeyFile!) }
        : config.http2 === 'h2c'
          ? { kind: 'h2c' }
          : { kind: 'http1' },
    shieldSecret: config.shieldSecret,
    memo: { maxBytes: config.memoBytes, maxObjectBytes: 64 * 1024 },
    hotCache: { maxBytes: config.hotCacheBytes, maxObjectBytes: config.hotCacheMaxObjectBytes, loadTimeoutMs: config.storageTimeoutMs, negativeTtlMs: 2000 },
  });
  appRef = app;
  const objects = metrics.family('cascade_push_objects_total', 'Objects a push handled, by edge and result (done, present: the edge had it, failed)');
  const bytes = metrics.family('cascade_push_bytes_total', 'Bytes a push moved to each edge');
  pushCounters.objects = (l) => objects.inc(l);
  pushCounters.bytes = (l, n) => bytes.inc(l, n);
  metrics.gauge('cascade_pushes_running', () => pushes.activeCount);
  metrics.gaugeFamily('cascade_push_progress_ratio', 'Share of its objects a running push has verified on each edge', () => pushes.progress());
  metrics.gauge('cascade_child_processes', () => supervisor.running);
  metrics.gauge('cascade_live_channels', () => channels.list().length);
  metrics.gauge('cascade_live_channels_live', () => channels.list().filter((c) => c.session?.began).length);
  // LL-HLS blocking reloads, held parts and segments in production waiting for media.
  metrics.gauge('cascade_live_held_requests', () => channels.list().reduce((n, c) => n + c.waiting, 0));
  await ingest.start();
  await pushes.start();
  if (config.live.enabled) await channels.start();
  // The origin can serve without ffmpeg, but every job would fail: say so at start.
  for (const [name, bin] of [['ffmpeg', config.ffmpegPath], ['ffprobe', config.ffprobePath]] as const) {
    const ok = await supervisor.exec(name, bin, ['-version'], { timeoutMs: 10_000 }).then((r) => r.code === 0, () => false);
    if (!ok) logger.error({ bin }, `${name} is not runnable: uploads will fail until it is installed (apt-get install ffmpeg) or CASCADE_${name.toUpperCase()} points to it`);
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    store,
    catalog,
    ingest,
    channels,
    pushes,
    supervisor,
    apiToken: token,
    tokenGenerated: generated,
    logger,
    close: () =>
      (closing ??= (async () => {
        clearInterval(cleanupTimer);
        await channels.close();
        await pushes.close();
        await app.close();
        await ingest.close();
        await supervisor.close();
        await store.close();
      })()),
  };
}
