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
}

export function withQuery(uri: string, opts?: UriOptions): string {
  if (!opts?.query) return uri;
  return `${uri}${uri.includes('?') ? '&' : '?'}${opts.query}`;
}
