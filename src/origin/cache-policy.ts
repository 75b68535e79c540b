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
  | 'console-page'
  | 'console-asset'
  | 'error-not-found'
  | 'error-client'
  | 'error-server';

const YEAR = 365 * 24 * 3600;

export const CACHE_POLICY: Record<CacheKind, string> = {
  // Versioned URLs: the text cannot change, but keep browsers' copies an hour so that a fix to the
  // renderer reaches them; CDNs keep a day.
  'vod-multivariant': 'public, max-age=3600, s-maxage=86400, stale-while-revalidate=60, stale-if-error=86400',
  'vod-media-playlist': 'public, max-age=3600, s-maxage=86400, stale-while-revalidate=60, stale-if-error=86400',
  'vod-mpd': 'public, max-age=3600, s-maxage=86400, stale-while-revalidate=60, stale-if-error=86400',
  // The bytes behind a versioned media URL never change.
  'init-segment': `public, max-age=${YEAR}, immutable`,
  'media-segment': `public, max-age=${YEAR}, immutable`,
  // Unversioned title URLs redirect to the current version, which a re-upload changes.
  // stale-if-error: with the origin down, an edge keeps sending players to the last known version.
  'current-version-redirect': 'public, max-age=5, stale-if-error=3600',
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

export function cacheControl(kind: CacheKind): string {
  return CACHE_POLICY[kind];
}

export function errorCacheKind(status: number): CacheKind {
  if (status === 404) return 'error-not-found';
  return status >= 500 ? 'error-server' : 'error-client';
}
