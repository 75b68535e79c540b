/**
 * The one cache policy table: object kind (and media state) → Cache-Control.
 * No other file writes a max-age. RFC 8216bis Appendix B.1 and RFC 9111 guide
 * the values; versioned media never changes under its URL, so it is immutable.
 */
export type CacheKind =
  | 'vod-multivariant'
  | 'vod-media-playlist'
  | 'vod-mpd'
  | 'init-segment'
  | 'media-segment'
  | 'current-version-redirect'
  | 'time'
  | 'health'
  | 'api'
  | 'live-multivariant'
  | 'live-media-playlist'
  | 'live-media-playlist-blocking'
  | 'live-ended-playlist'
  | 'live-mpd'
  | 'live-media'
  | 'live-not-yet'
  | 'console-page'
  | 'console-asset'
  | 'error-not-found'
  | 'error-client'
  | 'error-server';

const YEAR = 365 * 24 * 3600;

/** Live rows depend on the channel's target duration (RFC 8216bis Appendix B.1). */
export interface CacheContext { targetDuration: number }

export const CACHE_POLICY: Record<CacheKind, string | ((c: CacheContext) => string)> = {
  // Versioned URLs: the text cannot change, but keep browsers' copies an hour so that a fix to the
  // renderer reaches them; CDNs keep a day.
  'vod-multivariant': 'public, max-age=3600, s-maxage=86400, stale-while-revalidate=60, stale-if-error=86400',
  'vod-media-playlist': 'public, max-age=3600, s-maxage=86400, stale-while-revalidate=60, stale-if-error=86400',
  'vod-mpd': 'public, max-age=3600, s-maxage=86400, stale-while-revalidate=60, stale-if-error=86400',
  // The bytes behind a versioned media URL never change.
  'init-segment': `public, max-age=${YEAR}, immutable`,
  'media-segment': `public, max-age=${YEAR}, immutable`,
  // Unversioned title URLs redirect to the current version, which a re-upload changes.
  // stale-while-revalidate: for 30 s past expiry an edge answers at once and refetches behind the
  // player's back (the previous version stays playable: the catalog keeps it). stale-if-error: with
  // the origin down, an edge keeps sending players to the last known version.
  'current-version-redirect': 'public, max-age=5, stale-while-revalidate=30, stale-if-error=3600',
  // Live (RFC 8216bis Appendix B.1). The multivariant playlist changes only with the ladder.
  'live-multivariant': 'public, max-age=5, stale-if-error=30',
  // A plain reload: about half a target duration, so a CDN never hides a new segment for long.
  'live-media-playlist': (c) => `public, max-age=${Math.max(1, Math.floor(c.targetDuration / 2))}`,
  // A blocking reload names the state it waited for in its URL (_HLS_msn/_HLS_part): the answer
  // cannot change, so caches may keep it for six target durations.
  'live-media-playlist-blocking': (c) => `public, max-age=${6 * c.targetDuration}`,
  // After EXT-X-ENDLIST the playlist only changes if the channel is reopened.
  'live-ended-playlist': 'public, max-age=10, stale-if-error=3600',
  // A dynamic MPD is refreshed every minimumUpdatePeriod; keep copies shorter than that.
  'live-mpd': 'public, max-age=1',
  // Live init segments, segments and parts: names carry numbers that are never reused.
  'live-media': `public, max-age=${YEAR}, immutable`,
  // A live object that does not exist yet: a second later it may.
  'live-not-yet': 'public, max-age=1',
  // DASH UTCTiming source: must be fresh.
  time: 'no-store',
  health: 'no-store',
  api: 'no-store',
  // The console page revalidates every time (a new version must show at once); its assets are small.
  'console-page': 'no-cache',
  'console-asset': 'public, max-age=3600',
  // Short, so a title published a moment later is found.
  'error-not-found': 'public, max-age=5',
  'error-client': 'no-store',
  'error-server': 'no-store',
};

export function cacheControl(kind: CacheKind, ctx: CacheContext = { targetDuration: 2 }): string {
  const v = CACHE_POLICY[kind];
  return typeof v === 'function' ? v(ctx) : v;
}

/** Error codes whose answers expire sooner than their status's default: a live object appears a moment later. */
const ERROR_KIND_BY_CODE: Partial<Record<string, CacheKind>> = {
  LIVE_NOT_YET: 'live-not-yet',
  CHANNEL_OFFLINE: 'live-not-yet',
};

export function errorCacheKind(status: number, code?: string): CacheKind {
  const byCode = code ? ERROR_KIND_BY_CODE[code] : undefined;
  if (byCode) return byCode;
  if (status === 404) return 'error-not-found';
  return status >= 500 ? 'error-server' : 'error-client';
}
