/**
 * Every configuration option, once: its key (config file and flags), its environment variable,
 * its default and what it does. `loadConfig` reads values through this table, and
 * docs/configuration.md is generated from it (test/unit/config-reference.test.ts keeps them equal).
 */
export interface ConfigOption {
  key: string;
  env: string;
  flag?: string;
  /** The default as documented; `loadConfig` implements it (a test compares the simple ones). */
  default: string;
  description: string;
}

export const CONFIG_OPTIONS: readonly ConfigOption[] = [
  { key: 'configFile', env: 'CASCADE_CONFIG', flag: '--config', default: '(none)', description: 'JSON file with any of the keys below (see `cascade.example.json`).' },
  { key: 'server', env: 'CASCADE_SERVER', flag: '--server', default: 'http://127.0.0.1:8080', description: 'Client commands (`ingest`): the server to talk to.' },
  { key: 'port', env: 'CASCADE_PORT', flag: '--port', default: '8080', description: 'Listen port.' },
  { key: 'host', env: 'CASCADE_HOST', flag: '--host', default: '127.0.0.1', description: 'Listen address (0.0.0.0 for all interfaces).' },
  { key: 'dataDir', env: 'CASCADE_DATA', flag: '--data', default: './data', description: 'Jobs, uploads, work directories and the generated API token.' },
  { key: 'storage', env: 'CASCADE_STORAGE', flag: '--storage', default: 'file://<dataDir>/store', description: 'Object store: `file://<dir>` or `s3://<bucket>/<prefix>`.' },
  { key: 's3Endpoint', env: 'CASCADE_S3_ENDPOINT', default: '(AWS)', description: 'Endpoint of an S3-compatible store; path-style addressing is used when set. Credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (read by the AWS SDK).' },
  { key: 's3MultipartBytes', env: 'CASCADE_S3_MULTIPART_BYTES', default: '67108864', description: 'Objects at least this big are uploaded with multipart upload.' },
  { key: 'apiToken', env: 'CASCADE_API_TOKEN', default: '(generated)', description: 'Bearer token of the admin API (at least 16 characters). Unset: generated once into `<dataDir>/api-token` (mode 600) and printed.' },
  { key: 'ffmpegPath', env: 'CASCADE_FFMPEG', default: 'ffmpeg', description: 'ffmpeg binary (PATH lookup by default).' },
  { key: 'ffprobePath', env: 'CASCADE_FFPROBE', default: 'ffprobe', description: 'ffprobe binary (PATH lookup by default).' },
  { key: 'jobConcurrency', env: 'CASCADE_JOB_CONCURRENCY', default: '1', description: 'Encodes running at once (one fills two cores).' },
  { key: 'jobMaxAttempts', env: 'CASCADE_JOB_MAX_ATTEMPTS', default: '2', description: 'Runs of a job across server restarts before it fails with JOB_INTERRUPTED.' },
  { key: 'encodeStallSec', env: 'CASCADE_ENCODE_STALL_SEC', default: '60', description: 'ffmpeg is killed after this long without progress (ENCODE_STALLED).' },
  { key: 'uploadIdleSec', env: 'CASCADE_UPLOAD_IDLE_SEC', default: '60', description: 'An upload that sends no body bytes for this long is refused (408 UPLOAD_STALLED) and discarded.' },
  { key: 'maxUploadBytes', env: 'CASCADE_MAX_UPLOAD_BYTES', default: '21474836480', description: 'Upload size limit (413 UPLOAD_TOO_LARGE above it).' },
  { key: 'defaultLadder', env: 'CASCADE_LADDER', default: 'standard', description: 'Ladder preset used when an upload names none: `standard`, `fast` or `draft`.' },
  { key: 'corsAllowedOrigins', env: 'CASCADE_CORS_ORIGINS', default: '*', description: 'Comma-separated origins allowed to fetch playback URLs from browsers.' },
  { key: 'hotCacheBytes', env: 'CASCADE_HOT_CACHE_BYTES', default: '268435456', description: 'Byte budget of the in-memory hot object cache (LRU).' },
  { key: 'hotCacheMaxObjectBytes', env: 'CASCADE_HOT_CACHE_MAX_OBJECT_BYTES', default: '16777216', description: 'Media objects above this are streamed from storage, not cached.' },
  { key: 'memoBytes', env: 'CASCADE_MEMO_BYTES', default: '33554432', description: 'Byte budget of the small-object fast path: complete answers (≤ 64 KiB: manifests, init segments) of versioned VOD objects replayed without the full request pipeline. 0 turns it off.' },
  { key: 'storageTimeoutMs', env: 'CASCADE_STORAGE_TIMEOUT_MS', default: '10000', description: 'A media read slower than this answers 504 STORAGE_TIMEOUT (to every coalesced waiter).' },
  { key: 'cdnBaseUrls', env: 'CASCADE_CDN_BASE_URLS', default: '(none)', description: 'Comma-separated CDN bases written into manifests (first = default; header `X-Cascade-Base-Url` may pick another listed one).' },
  { key: 'shieldSecret', env: 'CASCADE_SHIELD_SECRET', default: '(none)', description: 'When set, `/vod/` and `/live/` requests need `X-Cascade-Shield: <secret>` (origin-shield guard).' },
  { key: 'http2', env: 'CASCADE_HTTP2', default: 'off', description: '`off`, `h2c` (HTTP/2 cleartext, prior knowledge) or `tls` (HTTPS with HTTP/2 and HTTP/1.1).' },
  { key: 'tlsCertFile', env: 'CASCADE_TLS_CERT', default: '(none)', description: 'PEM certificate for `http2=tls`.' },
  { key: 'tlsKeyFile', env: 'CASCADE_TLS_KEY', default: '(none)', description: 'PEM private key for `http2=tls`.' },
  { key: 'signingKeys', env: 'CASCADE_SIGNING_KEYS', default: '(none)', description: '`id:secret,...` HMAC keys for playback tokens (the first signs, all verify; secrets at least 16 characters).' },
  { key: 'signedPlayback', env: 'CASCADE_SIGNED_PLAYBACK', default: 'false', description: 'Require `?token=` on every `/vod/` and `/live/` URL.' },
  { key: 'playbackTokenTtlSec', env: 'CASCADE_PLAYBACK_TOKEN_TTL_SEC', default: '21600', description: 'Lifetime of the tokens in the title API\'s playback URLs.' },
  { key: 'live', env: 'CASCADE_LIVE', default: 'on', description: '`off` runs this origin without live ingest (no RTMP/SRT ports; channel routes answer 409 LIVE_DISABLED). A channel belongs to one origin: with several origins on one store, turn live on in one of them.' },
  { key: 'rtmpPort', env: 'CASCADE_RTMP_PORT', flag: '--rtmp-port', default: '1935', description: 'RTMP ingest port (our RTMP server; stream keys are checked at publish). 0 picks a free port.' },
  { key: 'ingestHost', env: 'CASCADE_INGEST_HOST', default: '(host)', description: 'Listen address of the RTMP and SRT ingest ports.' },
  { key: 'srtPorts', env: 'CASCADE_SRT_PORTS', default: '9000-9099', description: 'UDP port range for SRT ingest: one port per channel (each with its own passphrase).' },
  { key: 'publicHost', env: 'CASCADE_PUBLIC_HOST', default: '(host, or 127.0.0.1 for 0.0.0.0)', description: 'Host name written into the RTMP/SRT ingest URLs that channels report.' },
  { key: 'liveSegmentSec', env: 'CASCADE_LIVE_SEGMENT_SEC', default: '2', description: 'Live segment target (s): EXT-X-TARGETDURATION and the keyframe grid of transcoded ladders.' },
  { key: 'livePartSec', env: 'CASCADE_LIVE_PART_SEC', default: '0.334', description: 'Live part duration (s): parts are cut on this grid from each segment start; PART-TARGET is it plus one AAC frame (0.358). 0.2 lowers LL-HLS latency further at more requests.' },
  { key: 'liveDvrWindowSec', env: 'CASCADE_LIVE_DVR_SEC', default: '120', description: 'Default DVR window of a channel (s).' },
  { key: 'liveLatencyTargetMs', env: 'CASCADE_LIVE_LATENCY_MS', default: '3000', description: 'LL-DASH ServiceDescription Latency@target (ms).' },
  { key: 'srtLatencyMs', env: 'CASCADE_SRT_LATENCY_MS', default: '200', description: 'SRT receiver latency (ms).' },
  { key: 'logLevel', env: 'CASCADE_LOG_LEVEL', default: 'info', description: 'pino level: fatal, error, warn, info, debug, trace, silent (JSON lines on stderr).' },
  { key: 'edges', env: 'CASCADE_EDGES', default: '[]', description: 'Pre-positioning targets as JSON: `http-cache` edges `{name, kind, url, concurrency?, maxBytesPerSec?, warm?: auto|head|get, hitHeader?, hitPattern?, purge?: purge|ban|none, purgePrefix?}` and `s3` edges `{name, kind, bucket, prefix?, endpoint?, region?, concurrency?, maxBytesPerSec?, multipartBytes?}` (see docs/push.md).' },
  { key: 'pushConcurrency', env: 'CASCADE_PUSH_CONCURRENCY', default: '8', description: 'Objects a push transfers at once per edge (an edge\'s `concurrency` overrides it).' },
  { key: 'pushMaxBytesPerSec', env: 'CASCADE_PUSH_MAX_BYTES_PER_SEC', default: '0', description: 'Bandwidth cap of a push per edge in bytes/s, so warming does not starve playback (0: none; an edge\'s `maxBytesPerSec` overrides it).' },
  { key: 'pushMaxAttempts', env: 'CASCADE_PUSH_MAX_ATTEMPTS', default: '4', description: 'Attempts per object (with exponential back-off) before it counts as failed for that edge.' },
  { key: 'pushTimeoutMs', env: 'CASCADE_PUSH_TIMEOUT_MS', default: '30000', description: 'One request of a push slower than this fails (and is retried).' },
  { key: 'pushHeadSec', env: 'CASCADE_PUSH_HEAD_SEC', default: '300', description: 'Within a budget, the first seconds of every selected title come before the rest of any title.' },
  { key: 'demandHalfLifeHours', env: 'CASCADE_DEMAND_HALF_LIFE_HOURS', default: '24', description: 'Half-life of the request counts that rank titles for `top` pushes.' },
];

const byKey = new Map(CONFIG_OPTIONS.map((o) => [o.key, o]));

export function configOption(key: string): ConfigOption {
  const o = byKey.get(key);
  if (!o) throw new Error(`config option ${key} is not in CONFIG_OPTIONS`);
  return o;
}

export function renderConfigReference(): string {
  const rows = CONFIG_OPTIONS.map((o) => `| \`${o.key}\` | \`${o.env}\` | ${o.flag ? `\`${o.flag}\`` : ''} | \`${o.default}\` | ${o.description} |`);
  return [
    '# Configuration reference',
    '',
    'Generated from `src/config-options.ts` (do not edit by hand; `UPDATE_GOLDEN=1 npx vitest run test/unit/config-reference.test.ts`).',
    '',
    'Precedence: defaults < JSON file (`--config <file>` or `CASCADE_CONFIG`, keys as below) < environment < flags.',
    'Invalid values stop the server at start with a message that names the option.',
    '',
    '| key (config file) | environment | flag | default | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
