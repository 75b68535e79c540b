/**
 * Relative URL layout inside one title version. Manifests list these relative
 * URIs; the origin routes them. HLS and DASH share the init and segment URLs so
 * that a CDN caches each media object once.
 *
 *   {version}/master.m3u8        multivariant playlist
 *   {version}/manifest.mpd       DASH MPD
 *   {version}/{rendition}/media.m3u8
 *   {version}/{rendition}/init.mp4
 *   {version}/{rendition}/{number}.m4s
 */
export const playbackPaths = {
  multivariant: 'master.m3u8',
  mpd: 'manifest.mpd',
  mediaPlaylist: (rendition: string): string => `${rendition}/media.m3u8`,
  init: 'init.mp4',
  segment: (n: number): string => `${n}.m4s`,
  /** DASH SegmentTemplate forms (relative to the MPD). */
  dashInit: '$RepresentationID$/init.mp4',
  dashMedia: '$RepresentationID$/$Number$.m4s',
} as const;

/** Options for the URIs a manifest lists. */
export interface UriOptions {
  /** Appended to every listed URI (e.g. a playback token: "token=..."). */
  query?: string;
  /**
   * Absolute URL of the directory the listed URIs are relative to (a CDN hostname in front of a
   * private origin). HLS URIs become absolute; an MPD gets a BaseURL (ISO/IEC 23009-1 §5.6).
   */
  base?: string;
}

/** A URI as a manifest lists it: made absolute against `base` and carrying `query`, when given. */
export function withQuery(uri: string, opts?: UriOptions): string {
  const abs = opts?.base ? `${opts.base}${uri}` : uri;
  if (!opts?.query) return abs;
  return `${abs}${abs.includes('?') ? '&' : '?'}${opts.query}`;
}
