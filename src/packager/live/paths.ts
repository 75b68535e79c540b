/**
 * Relative URL layout of a live channel (relative to `/live/{channel}/`). Segment
 * and part names carry the media sequence number, which never repeats within a
 * channel, so a URL never names two different objects (a CDN may keep it).
 *
 *   master.m3u8 · manifest.mpd
 *   {rendition}/media.m3u8
 *   {rendition}/init-{session}.mp4
 *   {rendition}/{msn}.m4s          segment (HLS EXTINF and DASH $Number$)
 *   {rendition}/{msn}.{part}.m4s   LL-HLS part
 */
export const livePaths = {
  multivariant: 'master.m3u8',
  mpd: 'manifest.mpd',
  mediaPlaylist: (rendition: string): string => `${rendition}/media.m3u8`,
  init: (session: number): string => `init-${session}.mp4`,
  segment: (msn: number): string => `${msn}.m4s`,
  part: (msn: number, part: number): string => `${msn}.${part}.m4s`,
  dashInit: (session: number): string => `$RepresentationID$/init-${session}.mp4`,
  dashMedia: '$RepresentationID$/$Number$.m4s',
} as const;

export type LiveObject =
  | { kind: 'init'; session: number }
  | { kind: 'segment'; msn: number }
  | { kind: 'part'; msn: number; part: number };

/** Parses the last path element of a live media URL; undefined if it is none of ours. */
export function parseLiveObject(name: string): LiveObject | undefined {
  let m = /^init-(\d{1,9})\.mp4$/.exec(name);
  if (m) return { kind: 'init', session: Number(m[1]) };
  m = /^(\d{1,12})\.m4s$/.exec(name);
  if (m) return { kind: 'segment', msn: Number(m[1]) };
  m = /^(\d{1,12})\.(\d{1,4})\.m4s$/.exec(name);
  if (m) return { kind: 'part', msn: Number(m[1]), part: Number(m[2]) };
  return undefined;
}
