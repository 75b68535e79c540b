import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CACHE_POLICY, cacheControl } from '../../src/origin/index.js';
import { errorCacheKind } from '../../src/origin/cache-policy.js';
import { notModified, parseRange } from '../../src/origin/send-range.js';
import { negotiateCoding } from '../../src/origin/compression.js';
import { ERROR_CODES } from '../../src/shared/errors.js';
import { checkKey } from '../../src/storage/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('cache policy table', () => {
  it.each([
    ['media-segment', /max-age=31536000, immutable/],
    ['init-segment', /max-age=31536000, immutable/],
    ['vod-multivariant', /^public, max-age=3600/],
    ['vod-media-playlist', /^public, max-age=3600/],
    ['vod-mpd', /^public, max-age=3600/],
    ['current-version-redirect', /^public, max-age=5, stale-while-revalidate=30, stale-if-error=3600$/],
    ['time', /^no-store$/],
    ['api', /^no-store$/],
    ['error-not-found', /^public, max-age=5$/],
    ['error-client', /^no-store$/],
    ['error-server', /^no-store$/],
    ['console-page', /^no-cache$/],
    ['console-asset', /^public, max-age=3600$/],
    ['live-multivariant', /^public, max-age=5, stale-if-error=30$/],
    ['live-mpd', /^public, max-age=1$/],
    ['live-media', /max-age=31536000, immutable/],
    ['live-not-yet', /^public, max-age=1$/],
    ['live-ended-playlist', /^public, max-age=10/],
  ] as const)('%s → %s', (kind, re) => expect(cacheControl(kind)).toMatch(re));
  it.each([
    // RFC 8216bis Appendix B.1: non-blocking ≈ half a target duration, blocking ≈ six.
    [2, 'live-media-playlist', 'public, max-age=1'],
    [4, 'live-media-playlist', 'public, max-age=2'],
    [2, 'live-media-playlist-blocking', 'public, max-age=12'],
    [6, 'live-media-playlist-blocking', 'public, max-age=36'],
  ] as const)('target duration %i: %s → %s', (td, kind, want) => expect(cacheControl(kind, { targetDuration: td })).toBe(want));
  it('covers every kind and maps statuses', () => {
    expect(Object.keys(CACHE_POLICY)).toHaveLength(21);
    expect(errorCacheKind(404)).toBe('error-not-found');
    // A live object that is not there yet expires in a second, whatever its status.
    expect(errorCacheKind(404, 'LIVE_NOT_YET')).toBe('live-not-yet');
    expect(errorCacheKind(404, 'CHANNEL_OFFLINE')).toBe('live-not-yet');
    expect(errorCacheKind(404, 'SEGMENT_NOT_FOUND')).toBe('error-not-found');
    expect(errorCacheKind(416)).toBe('error-client');
    expect(errorCacheKind(503)).toBe('error-server');
  });
});

describe('range and conditionals', () => {
  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=100-', { kind: 'partial', start: 100, end: 999 }],
    ['bytes=-10', { kind: 'partial', start: 990, end: 999 }],
    ['bytes=500-5000', { kind: 'partial', start: 500, end: 999 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-6', { kind: 'full' }],
    ['bytes=9-3', { kind: 'full' }],
    ['items=0-1', { kind: 'full' }],
  ] as const)('%s', (h, want) => expect(parseRange(h, 1000)).toEqual(want));
  it('If-None-Match and If-Modified-Since', () => {
    const lm = new Date('2026-01-01T00:00:00Z');
    expect(notModified({ 'if-none-match': '"a", "b"' }, '"b"', lm)).toBe(true);
    expect(notModified({ 'if-none-match': 'W/"b"' }, '"b"', lm)).toBe(true);
    expect(notModified({ 'if-none-match': '"c"', 'if-modified-since': lm.toUTCString() }, '"b"', lm)).toBe(false);
    expect(notModified({ 'if-modified-since': lm.toUTCString() }, '"b"', lm)).toBe(true);
    expect(notModified({ 'if-modified-since': new Date(lm.getTime() - 5000).toUTCString() }, '"b"', lm)).toBe(false);
  });
});

describe('content coding negotiation', () => {
  it.each([
    [undefined, 'identity'],
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    ['br;q=0, gzip;q=0.5', 'gzip'],
    ['*', 'br'],
    ['identity', 'identity'],
    ['gzip;q=0', 'identity'],
  ] as const)('%s → %s', (h, want) => expect(negotiateCoding(h)).toBe(want));
});

describe('error registry', () => {
  it('every code is documented in docs/api.md with its status', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(ERROR_CODES)) expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
  });
});

describe('storage keys', () => {
  it.each(['../x', 'a/../b', '/abs', 'a\\b', 'a\0b', 'a//b', './a', ''])('rejects %j', (k) => expect(() => checkKey(k)).toThrow());
  it('accepts plain keys', () => expect(checkKey('titles/a/v1/x.mp4')).toBe('titles/a/v1/x.mp4'));
});

describe('config', () => {
  it('defaults, env and flags; errors name the field', () => {
    const c = loadConfig({ dataDir: '/tmp/x' }, {});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', storage: { kind: 'file', dir: '/tmp/x/store' }, jobConcurrency: 1 });
    const s3 = loadConfig({ storage: 's3://media-bucket/vod/titles' }, { CASCADE_S3_ENDPOINT: 'http://127.0.0.1:4569' });
    expect(s3.storage).toMatchObject({ kind: 's3', bucket: 'media-bucket', prefix: 'vod/titles/', forcePathStyle: true });
    expect(() => loadConfig({ port: 'abc' }, {})).toThrow(/port/);
    expect(() => loadConfig({ storage: 'ftp://x' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({}, { CASCADE_EDGES: '[{"name":"e","kind":"http-cache"}]' })).toThrow(/edges\[0\]\.url/);
    expect(loadConfig({}, { CASCADE_EDGES: '[{"name":"edge-a","kind":"http-cache","url":"http://127.0.0.1:6081"}]' }).edges).toHaveLength(1);
    expect(() => loadConfig({ apiToken: 'short' }, {})).toThrow(/apiToken/);
  });
});
