/**
 * The one configuration: defaults < config file (--config / CASCADE_CONFIG, JSON)
 * < environment < command-line flags. Parsed and validated once; every message
 * names the field. `process.env` is read here and nowhere else.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configOption } from './config-options.js';

export type StorageConfig =
  | { kind: 'file'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region: string; forcePathStyle: boolean; multipartThresholdBytes: number };

/** Settings every edge has: how hard a push may drive it. */
interface EdgeCommon {
  name: string;
  /** Objects transferred at once to this edge. */
  concurrency: number;
  /** Bytes per second a push may move to this edge (0: no cap). */
  maxBytesPerSec: number;
}

/** A pull cache (Varnish, nginx proxy_cache, a CDN hostname), warmed by requesting objects through it. */
export interface HttpCacheEdgeConfig extends EdgeCommon {
  kind: 'http-cache';
  url: string;
  /**
   * How a cached object shows: the response header to read and a pattern its value matches on a
   * hit. Default: X-Cache / X-Cache-Status / CF-Cache-Status containing HIT, else Age > 0.
   */
  hitHeader?: string;
  hitPattern?: string;
  /**
   * How an object is warmed: `head` only asks for its headers, for caches that fetch the whole
   * object on a HEAD miss (Varnish; nginx with proxy_cache_convert_head, its default) — the bytes
   * then flow origin → edge only; `get` reads it through the edge (any cache); `auto` (default)
   * starts with HEAD and switches the edge to GET when a HEAD-warmed object is not cached.
   */
  warm: 'auto' | 'get' | 'head';
  /** Invalidation: PURGE per object URL, one BAN of the title's prefix, or none. */
  purge: 'purge' | 'ban' | 'none';
  /** When set, a purge is `GET {purgePrefix}{path}` instead of `PURGE {path}` (nginx cache_purge). */
  purgePrefix?: string;
}

/** An object store an edge serves from, filled by copying objects into it. */
export interface S3EdgeConfig extends EdgeCommon {
  kind: 's3';
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
  /** Objects at least this big are copied with multipart upload (S3's minimum part is 5 MiB). */
  multipartBytes: number;
}

export type EdgeConfig = HttpCacheEdgeConfig | S3EdgeConfig;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  storage: StorageConfig;
  apiToken?: string;
  ffmpegPath: string;
  ffprobePath: string;
  jobConcurrency: number;
  jobMaxAttempts: number;
  encodeStallSec: number;
  maxUploadBytes: number;
  /** An upload idle this long (no body bytes) is refused and discarded. */
  uploadIdleSec: number;
  defaultLadder: string;
  corsAllowedOrigins: string[];
  /** Byte budget of the in-memory hot object cache. */
  hotCacheBytes: number;
  /** Media slices above this size are streamed, not cached. */
  hotCacheMaxObjectBytes: number;
  /** Small-object fast path budget (0: off). */
  memoBytes: number;
  /** A storage read slower than this fails (all coalesced waiters get STORAGE_TIMEOUT). */
  storageTimeoutMs: number;
  /**
   * CDN bases written into manifests (first = default; a request header X-Cascade-Base-Url may pick
   * another listed one). Empty: manifests list relative URIs.
   */
  cdnBaseUrls: string[];
  /** off: HTTP/1.1; h2c: HTTP/2 cleartext (prior knowledge); tls: HTTPS with HTTP/2 and HTTP/1.1. */
  http2: 'off' | 'h2c' | 'tls';
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** When set, /vod/ requests must carry `X-Cascade-Shield: <secret>` (only the CDN knows it). */
  shieldSecret?: string;
  /** Signed playback: keys (first signs, all verify), whether tokens are required, token lifetime. */
  signing: { keys: Array<{ id: string; secret: string }>; required: boolean; ttlSec: number };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  edges: EdgeConfig[];
  push: {
    /** Half-life of the demand counters that rank titles for `top` pushes (hours). */
    demandHalfLifeHours: number;
    /** The first seconds of a title that rank before the rest of it (what a viewer hits on play). */
    headSec: number;
    /** Attempts per object before it counts as failed. */
    maxAttempts: number;
    /** One request to an edge slower than this fails (and is retried). */
    timeoutMs: number;
  };
  live: {
    enabled: boolean;
    rtmpPort: number;
    ingestHost: string;
    srtPorts: [number, number];
    publicHost: string;
    segmentSec: number;
    partSec: number;
    dvrWindowSec: number;
    latencyTargetMs: number;
    srtLatencyMs: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`config: ${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** What the CLI passes in; every key optional. */
export type ConfigOverrides = Partial<{
  host: string;
  port: number | string;
  dataDir: string;
  storage: string;
  configFile: string;
  apiToken: string;
  logLevel: string;
  jobConcurrency: number | string;
  rtmpPort: number | string;
}>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function num(field: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) throw new ConfigError(field, `must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return n;
}

function int(field: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new ConfigError(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return n;
}

export function parseStorageUrl(url: string, env: NodeJS.ProcessEnv, field = 'storage'): StorageConfig {
  const m = /^([a-z0-9]+):\/\/(.*)$/.exec(url);
  if (!m) throw new ConfigError(field, `expected file://<dir> or s3://<bucket>/<prefix>, got ${JSON.stringify(url)}`);
  const [, scheme, rest] = m;
  if (scheme === 'file') {
    if (!rest) throw new ConfigError(field, 'file:// needs a directory');
    return { kind: 'file', dir: resolve(rest) };
  }
  if (scheme === 's3') {
    const [bucket, ...prefixParts] = rest.split('/');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(field, `invalid S3 bucket name ${JSON.stringify(bucket)}`);
    let prefix = prefixParts.filter(Boolean).join('/');
    if (prefix) prefix += '/';
    const endpoint = env[configOption('s3Endpoint').env] || undefined;
    if (endpoint && !/^https?:\/\//.test(endpoint)) throw new ConfigError('CASCADE_S3_ENDPOINT', `must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
    return {
      kind: 's3',
      bucket,
      prefix,
      endpoint,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      forcePathStyle: Boolean(endpoint),
      multipartThresholdBytes: env[configOption('s3MultipartBytes').env] ? int('s3MultipartBytes', env[configOption('s3MultipartBytes').env], 5 * 1024 * 1024, 5 * 1024 ** 3) : 64 * 1024 * 1024,
    };
  }
  throw new ConfigError(field, `unsupported storage scheme ${JSON.stringify(scheme)} (file:// or s3://)`);
}

function parseEdges(raw: unknown, field: string, env: NodeJS.ProcessEnv, defaults: { concurrency: number; maxBytesPerSec: number }): EdgeConfig[] {
  if (raw === undefined) return [];
  let list = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch {
      throw new ConfigError(field, 'is not valid JSON');
    }
  }
  if (!Array.isArray(list)) throw new ConfigError(field, 'must be a JSON array of edges');
  const names = new Set<string>();
  return list.map((e, i): EdgeConfig => {
    const f = `${field}[${i}]`;
    if (!e || typeof e !== 'object') throw new ConfigError(f, 'must be an object');
    const edge = e as Record<string, unknown>;
    if (typeof edge.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(edge.name)) throw new ConfigError(`${f}.name`, 'must be a short id');
    if (edge.name === 'all') throw new ConfigError(`${f}.name`, '"all" means every edge and cannot name one');
    if (names.has(edge.name)) throw new ConfigError(`${f}.name`, `duplicate edge name ${edge.name}`);
    names.add(edge.name);
    const str = (k: string): string | undefined => {
      if (edge[k] === undefined) return undefined;
      if (typeof edge[k] !== 'string') throw new ConfigError(`${f}.${k}`, 'must be a string');
      return edge[k] as string;
    };
    const common = {
      name: edge.name,
      concurrency: int(`${f}.concurrency`, edge.concurrency ?? defaults.concurrency, 1, 256),
      maxBytesPerSec: int(`${f}.maxBytesPerSec`, edge.maxBytesPerSec ?? defaults.maxBytesPerSec, 0, Number.MAX_SAFE_INTEGER),
    };
    if (edge.kind === 'http-cache') {
      const url = str('url');
      if (!url || !/^https?:\/\/[^/?#]+\/?$/.test(url)) throw new ConfigError(`${f}.url`, 'an http-cache edge needs an http(s) url of a host (no path)');
      const purge = str('purge') ?? 'purge';
      if (!['purge', 'ban', 'none'].includes(purge)) throw new ConfigError(`${f}.purge`, 'must be purge, ban or none');
      const hitPattern = str('hitPattern');
      if (hitPattern !== undefined) {
        try {
          new RegExp(hitPattern);
        } catch {
          throw new ConfigError(`${f}.hitPattern`, 'must be a regular expression');
        }
      }
      const warm = str('warm') ?? 'auto';
      if (warm !== 'auto' && warm !== 'get' && warm !== 'head') throw new ConfigError(`${f}.warm`, 'must be auto, get or head');
      const purgePrefix = str('purgePrefix');
      if (purgePrefix !== undefined && !/^\/[A-Za-z0-9._~/-]*$/.test(purgePrefix)) throw new ConfigError(`${f}.purgePrefix`, 'must be a path like /purge');
      return { ...common, kind: 'http-cache', url: url.replace(/\/$/, ''), warm, hitHeader: str('hitHeader'), hitPattern, purge: purge as 'purge' | 'ban' | 'none', purgePrefix };
    }
    if (edge.kind === 's3') {
      const bucket = str('bucket');
      if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(`${f}.bucket`, 'an s3 edge needs a valid bucket name');
      let prefix = (str('prefix') ?? '').replace(/^\/+/, '');
      if (prefix && !prefix.endsWith('/')) prefix += '/';
      const endpoint = str('endpoint');
      if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) throw new ConfigError(`${f}.endpoint`, 'must be an http(s) URL');
      return { ...common, kind: 's3', bucket, prefix, endpoint, region: str('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1', multipartBytes: int(`${f}.multipartBytes`, edge.multipartBytes ?? 16 * 1024 * 1024, 5 * 1024 * 1024, 5 * 1024 ** 3) };
    }
    throw new ConfigError(`${f}.kind`, 'must be "http-cache" or "s3"');
  });
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const configFile = overrides.configFile ?? env[configOption('configFile').env];
  let file: Record<string, unknown> = {};
  if (configFile) {
    try {
      file = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError('config', `cannot read ${configFile}: ${(err as Error).message}`);
    }
    if (!file || typeof file !== 'object' || Array.isArray(file)) throw new ConfigError('config', `${configFile} must hold a JSON object`);
  }
  // Every option is read through the documented table (src/config-options.ts): flags, then env, then file.
  const pick = (key: string): unknown => (overrides as Record<string, unknown>)[key] ?? env[configOption(key).env] ?? file[key];

  const dataDir = resolve(String(pick('dataDir') ?? './data'));
  const storageUrl = String(pick('storage') ?? `file://${resolve(dataDir, 'store')}`);
  const host = String(pick('host') ?? '127.0.0.1');
  const logLevel = String(pick('logLevel') ?? 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  const apiToken = (pick('apiToken') as string | undefined) || undefined;
  if (apiToken !== undefined && apiToken.length < 16) throw new ConfigError('apiToken', 'must be at least 16 characters');
  const cors = String(pick('corsAllowedOrigins') ?? '*');

  const keysRaw = String(pick('signingKeys') ?? '');
  const keys = keysRaw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair, i) => {
      const at = pair.indexOf(':');
      const id = pair.slice(0, at);
      const secret = pair.slice(at + 1);
      if (at < 1 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new ConfigError(`signingKeys[${i}]`, 'must be <id>:<secret> with an id of A-Z a-z 0-9 _ -');
      if (secret.length < 16) throw new ConfigError(`signingKeys[${i}]`, 'secret must be at least 16 characters');
      return { id, secret };
    });
  const requiredRaw = String(pick('signedPlayback') ?? 'false');
  if (!['true', 'false', '1', '0'].includes(requiredRaw)) throw new ConfigError('signedPlayback', 'must be true or false');
  const required = requiredRaw === 'true' || requiredRaw === '1';
  if (required && keys.length === 0) throw new ConfigError('signedPlayback', 'needs at least one key in signingKeys (CASCADE_SIGNING_KEYS)');

  const cdnBaseUrls = String(pick('cdnBaseUrls') ?? '')
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  cdnBaseUrls.forEach((u, i) => {
    if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(u)) throw new ConfigError(`cdnBaseUrls[${i}]`, `must be an http(s) URL without query, got ${JSON.stringify(u)}`);
  });
  const shieldSecret = (pick('shieldSecret') as string | undefined) || undefined;
  if (shieldSecret !== undefined && shieldSecret.length < 16) throw new ConfigError('shieldSecret', 'must be at least 16 characters');

  const http2 = String(pick('http2') ?? 'off');
  if (!['off', 'h2c', 'tls'].includes(http2)) throw new ConfigError('http2', 'must be off, h2c or tls');
  const tlsCertFile = (pick('tlsCertFile') as string | undefined) || undefined;
  const tlsKeyFile = (pick('tlsKeyFile') as string | undefined) || undefined;
  if (http2 === 'tls' && (!tlsCertFile || !tlsKeyFile)) throw new ConfigError('http2', 'tls needs tlsCertFile and tlsKeyFile (CASCADE_TLS_CERT, CASCADE_TLS_KEY)');

  const srtRaw = String(pick('srtPorts') ?? '9000-9099');
  const srtM = /^(\d{1,5})-(\d{1,5})$/.exec(srtRaw);
  if (!srtM || Number(srtM[1]) < 1 || Number(srtM[2]) > 65535 || Number(srtM[1]) > Number(srtM[2])) throw new ConfigError('srtPorts', `must be a port range like 9000-9099, got ${JSON.stringify(srtRaw)}`);
  const segmentSec = num('liveSegmentSec', pick('liveSegmentSec') ?? 2, 1, 10);
  const partSec = num('livePartSec', pick('livePartSec') ?? 0.334, 0.1, segmentSec / 2);
  const liveRaw = String(pick('live') ?? 'on');
  if (!['on', 'off', 'true', 'false'].includes(liveRaw)) throw new ConfigError('live', 'must be on or off');
  const live: Config['live'] = {
    enabled: liveRaw === 'on' || liveRaw === 'true',
    rtmpPort: int('rtmpPort', pick('rtmpPort') ?? 1935, 0, 65535),
    ingestHost: String(pick('ingestHost') ?? host),
    srtPorts: [Number(srtM[1]), Number(srtM[2])],
    publicHost: String(pick('publicHost') ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)),
    segmentSec,
    partSec,
    dvrWindowSec: int('liveDvrWindowSec', pick('liveDvrWindowSec') ?? 120, 6 * Math.ceil(segmentSec), 6 * 3600),
    latencyTargetMs: int('liveLatencyTargetMs', pick('liveLatencyTargetMs') ?? 3000, 500, 60_000),
    srtLatencyMs: int('srtLatencyMs', pick('srtLatencyMs') ?? 200, 20, 8000),
  };

  return {
    host,
    live,
    port: int('port', pick('port') ?? 8080, 0, 65535),
    dataDir,
    storage: parseStorageUrl(storageUrl, env),
    apiToken,
    ffmpegPath: String(pick('ffmpegPath') || 'ffmpeg'),
    ffprobePath: String(pick('ffprobePath') || 'ffprobe'),
    jobConcurrency: int('jobConcurrency', pick('jobConcurrency') ?? 1, 1, 64),
    jobMaxAttempts: int('jobMaxAttempts', pick('jobMaxAttempts') ?? 2, 1, 10),
    encodeStallSec: int('encodeStallSec', pick('encodeStallSec') ?? 60, 1, 3600),
    uploadIdleSec: int('uploadIdleSec', pick('uploadIdleSec') ?? 60, 1, 3600),
    maxUploadBytes: int('maxUploadBytes', pick('maxUploadBytes') ?? 20 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    defaultLadder: String(pick('defaultLadder') ?? 'standard'),
    corsAllowedOrigins: cors.split(',').map((s) => s.trim()).filter(Boolean),
    hotCacheBytes: int('hotCacheBytes', pick('hotCacheBytes') ?? 256 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    hotCacheMaxObjectBytes: int('hotCacheMaxObjectBytes', pick('hotCacheMaxObjectBytes') ?? 16 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    memoBytes: int('memoBytes', pick('memoBytes') ?? 32 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    storageTimeoutMs: int('storageTimeoutMs', pick('storageTimeoutMs') ?? 10_000, 100, 600_000),
    cdnBaseUrls,
    shieldSecret,
    http2: http2 as Config['http2'],
    tlsCertFile,
    tlsKeyFile,
    signing: { keys, required, ttlSec: int('playbackTokenTtlSec', pick('playbackTokenTtlSec') ?? 6 * 3600, 60, 30 * 24 * 3600) },
    logLevel: logLevel as Config['logLevel'],
    edges: parseEdges(pick('edges'), 'edges', env, {
      concurrency: int('pushConcurrency', pick('pushConcurrency') ?? 8, 1, 256),
      maxBytesPerSec: int('pushMaxBytesPerSec', pick('pushMaxBytesPerSec') ?? 0, 0, Number.MAX_SAFE_INTEGER),
    }),
    push: {
      demandHalfLifeHours: num('demandHalfLifeHours', pick('demandHalfLifeHours') ?? 24, 0.01, 24 * 365),
      headSec: int('pushHeadSec', pick('pushHeadSec') ?? 300, 0, 24 * 3600),
      maxAttempts: int('pushMaxAttempts', pick('pushMaxAttempts') ?? 4, 1, 20),
      timeoutMs: int('pushTimeoutMs', pick('pushTimeoutMs') ?? 30_000, 100, 600_000),
    },
  };
}

/** Settings of the CLI's client commands (ingest, live, push): which server, which token. */
export function loadClientConfig(flags: { server?: string; dataDir?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): { server: string; token?: string; tokenFile: string } {
  const server = flags.server ?? env[configOption('server').env] ?? 'http://127.0.0.1:8080';
  if (!/^https?:\/\//.test(server)) throw new ConfigError('server', `must be an http(s) URL, got ${JSON.stringify(server)}`);
  const dataDir = resolve(flags.dataDir ?? env[configOption('dataDir').env] ?? './data');
  let token = flags.token ?? env[configOption('apiToken').env];
  const tokenFile = resolve(dataDir, 'api-token');
  if (!token) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim() || undefined;
    } catch {
      token = undefined;
    }
  }
  return { server, token, tokenFile };
}
