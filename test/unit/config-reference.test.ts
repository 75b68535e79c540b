/** The configuration reference is generated from the one options table, and the defaults it documents are the real ones. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { CONFIG_OPTIONS, renderConfigReference } from '../../src/config-options.js';

const root = new URL('../../', import.meta.url).pathname;

it('docs/configuration.md is the rendered options table', () => {
  const path = `${root}docs/configuration.md`;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, renderConfigReference());
  expect(existsSync(path), 'docs/configuration.md is missing (UPDATE_GOLDEN=1 creates it)').toBe(true);
  expect(readFileSync(path, 'utf8')).toBe(renderConfigReference());
});

it('documented defaults are what loadConfig does', () => {
  const c = loadConfig({}, {});
  const actual: Record<string, string> = {
    port: String(c.port),
    host: c.host,
    ffmpegPath: c.ffmpegPath,
    ffprobePath: c.ffprobePath,
    jobConcurrency: String(c.jobConcurrency),
    jobMaxAttempts: String(c.jobMaxAttempts),
    encodeStallSec: String(c.encodeStallSec),
    maxUploadBytes: String(c.maxUploadBytes),
    defaultLadder: c.defaultLadder,
    corsAllowedOrigins: c.corsAllowedOrigins.join(','),
    hotCacheBytes: String(c.hotCacheBytes),
    hotCacheMaxObjectBytes: String(c.hotCacheMaxObjectBytes),
    storageTimeoutMs: String(c.storageTimeoutMs),
    http2: c.http2,
    signedPlayback: String(c.signing.required),
    playbackTokenTtlSec: String(c.signing.ttlSec),
    logLevel: c.logLevel,
    edges: JSON.stringify(c.edges),
  };
  const s3 = loadConfig({ storage: 's3://bucket-x/p' }, {}).storage;
  actual.s3MultipartBytes = String(s3.kind === 's3' ? s3.multipartThresholdBytes : '');
  for (const [key, value] of Object.entries(actual)) expect(CONFIG_OPTIONS.find((o) => o.key === key)?.default, key).toBe(value);
});

it('the shipped example config (cascade.example.json) equals the defaults', () => {
  expect(loadConfig({ configFile: `${root}cascade.example.json` }, {})).toEqual(loadConfig({}, {}));
});

it('every environment variable is read through the table', () => {
  const src = readFileSync(`${root}src/config.ts`, 'utf8');
  expect(src.match(/env\.CASCADE_\w+/g) ?? []).toEqual([]);
});
