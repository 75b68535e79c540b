/** Typed media playlist, RFC 8216bis §4.4.3–4.4.4, and its serialiser. */
import { attributeList, formatFloat, q } from './attribute-list.js';

export interface HlsSegment {
  /** §4.4.4.1 EXTINF duration in seconds. */
  duration: number;
  uri: string;
  title?: string;
}

export interface HlsMediaPlaylist {
  version: number;
  /** §4.4.3.1 */
  targetDuration: number;
  /** §4.4.3.2 */
  mediaSequence: number;
  /** §4.4.3.5 */
  playlistType?: 'VOD' | 'EVENT';
  independentSegments: boolean;
  /** §4.4.4.5 EXT-X-MAP URI */
  map?: { uri: string };
  segments: HlsSegment[];
  /** §4.4.3.4 */
  endList: boolean;
}

/** EXTINF durations carry enough digits to sum back to the media duration (§4.4.4.1 allows decimal-floating-point). */
const EXTINF_DIGITS = 5;

export function marshalMediaPlaylist(p: HlsMediaPlaylist): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`, `#EXT-X-TARGETDURATION:${p.targetDuration}`];
  if (p.mediaSequence !== 0) lines.push(`#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`);
  if (p.playlistType) lines.push(`#EXT-X-PLAYLIST-TYPE:${p.playlistType}`);
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  if (p.map) lines.push(`#EXT-X-MAP:${attributeList([['URI', q(p.map.uri)]])}`);
  for (const s of p.segments) {
    if (Math.round(s.duration) > p.targetDuration) throw new Error(`segment ${s.uri} (${s.duration}s) exceeds TARGETDURATION ${p.targetDuration} (RFC 8216bis §4.4.3.1)`);
    lines.push(`#EXTINF:${formatFloat(s.duration, EXTINF_DIGITS)},${s.title ?? ''}`, s.uri);
  }
  if (p.endList) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
