/** Typed media playlist, RFC 8216bis §4.4.3–4.4.5 (incl. the low-latency tags), and its serialiser. */
import { attributeList, e, float, formatFloat, int, q, yesNo, type AttributeValue } from './attribute-list.js';

export interface HlsPart {
  /** §4.4.4.9 EXT-X-PART */
  duration: number;
  uri: string;
  independent: boolean;
}

export interface HlsSegment {
  /** §4.4.4.1 EXTINF duration in seconds. */
  duration: number;
  uri: string;
  title?: string;
  /** §4.4.4.3 */
  discontinuity?: boolean;
  /** §4.4.4.6 */
  programDateTime?: Date;
  /** §4.4.4.5: a new EXT-X-MAP applies from this segment on. */
  map?: { uri: string };
  /** Parts of this segment, listed before its EXTINF. */
  parts?: HlsPart[];
  /** §4.4.4.7 EXT-X-GAP: the segment has no media (players skip it). */
  gap?: boolean;
}

export interface HlsServerControl {
  /** §4.4.3.8 EXT-X-SERVER-CONTROL */
  canBlockReload: boolean;
  canSkipUntil?: number;
  holdBack?: number;
  partHoldBack?: number;
}

export interface HlsRenditionReport {
  /** §4.4.5.4 EXT-X-RENDITION-REPORT */
  uri: string;
  lastMsn: number;
  lastPart?: number;
}

export interface HlsMediaPlaylist {
  version: number;
  /** §4.4.3.1 */
  targetDuration: number;
  /** §4.4.3.2 */
  mediaSequence: number;
  /** §4.4.3.3 */
  discontinuitySequence?: number;
  /** §4.4.3.5 */
  playlistType?: 'VOD' | 'EVENT';
  independentSegments: boolean;
  serverControl?: HlsServerControl;
  /** §4.4.3.7 EXT-X-PART-INF PART-TARGET */
  partTarget?: number;
  /** §4.4.5.2 EXT-X-SKIP: segments of a delta update replaced by the tag. */
  skippedSegments?: number;
  /** §4.4.4.5 EXT-X-MAP URI before the first listed segment. */
  map?: { uri: string };
  segments: HlsSegment[];
  /** The segment still being produced: its parts so far, after the last EXTINF (§4.4.4.9). */
  openSegment?: Omit<HlsSegment, 'duration' | 'uri' | 'title'> & { parts: HlsPart[] };
  /** §4.4.5.3 EXT-X-PRELOAD-HINT TYPE=PART */
  preloadHint?: { uri: string };
  renditionReports?: HlsRenditionReport[];
  /** §4.4.3.4 */
  endList: boolean;
}

/** EXTINF durations carry enough digits to sum back to the media duration (§4.4.4.1 allows decimal-floating-point). */
const EXTINF_DIGITS = 5;

function partLine(p: HlsPart, partTarget: number | undefined): string {
  // §4.4.4.9: the duration of a Partial Segment MUST be at most PART-TARGET.
  if (partTarget !== undefined && p.duration > partTarget + 1e-9) throw new Error(`part ${p.uri} (${p.duration}s) exceeds PART-TARGET ${partTarget}`);
  const attrs: Array<[string, AttributeValue | undefined]> = [
    ['DURATION', float(p.duration, 5)],
    ['URI', q(p.uri)],
    ['INDEPENDENT', p.independent ? yesNo(true) : undefined],
  ];
  return `#EXT-X-PART:${attributeList(attrs)}`;
}

export function marshalMediaPlaylist(p: HlsMediaPlaylist): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`, `#EXT-X-TARGETDURATION:${p.targetDuration}`];
  if (p.serverControl) {
    const s = p.serverControl;
    lines.push(
      `#EXT-X-SERVER-CONTROL:${attributeList([
        ['CAN-BLOCK-RELOAD', s.canBlockReload ? yesNo(true) : undefined],
        ['CAN-SKIP-UNTIL', s.canSkipUntil !== undefined ? float(s.canSkipUntil) : undefined],
        ['HOLD-BACK', s.holdBack !== undefined ? float(s.holdBack) : undefined],
        ['PART-HOLD-BACK', s.partHoldBack !== undefined ? float(s.partHoldBack) : undefined],
      ])}`,
    );
  }
  if (p.partTarget !== undefined) lines.push(`#EXT-X-PART-INF:PART-TARGET=${formatFloat(p.partTarget, 5)}`);
  if (p.mediaSequence !== 0) lines.push(`#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`);
  if (p.discontinuitySequence) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  if (p.playlistType) lines.push(`#EXT-X-PLAYLIST-TYPE:${p.playlistType}`);
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  if (p.skippedSegments) {
    // §4.4.5.2: a Playlist with EXT-X-SKIP needs EXT-X-VERSION 9 or higher.
    if (p.version < 9) throw new Error('EXT-X-SKIP requires EXT-X-VERSION 9');
    lines.push(`#EXT-X-SKIP:${attributeList([['SKIPPED-SEGMENTS', int(p.skippedSegments)]])}`);
  }
  if (p.map) lines.push(`#EXT-X-MAP:${attributeList([['URI', q(p.map.uri)]])}`);
  const head = (s: Omit<HlsSegment, 'duration' | 'uri'>): void => {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (s.map) lines.push(`#EXT-X-MAP:${attributeList([['URI', q(s.map.uri)]])}`);
    if (s.programDateTime) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${s.programDateTime.toISOString()}`);
    for (const part of s.parts ?? []) lines.push(partLine(part, p.partTarget));
  };
  for (const s of p.segments) {
    if (Math.round(s.duration) > p.targetDuration) throw new Error(`segment ${s.uri} (${s.duration}s) exceeds TARGETDURATION ${p.targetDuration} (RFC 8216bis §4.4.3.1)`);
    head(s);
    if (s.gap) lines.push('#EXT-X-GAP');
    lines.push(`#EXTINF:${formatFloat(s.duration, EXTINF_DIGITS)},${s.title ?? ''}`, s.uri);
  }
  if (p.openSegment) head(p.openSegment);
  if (p.preloadHint) lines.push(`#EXT-X-PRELOAD-HINT:${attributeList([['TYPE', e('PART')], ['URI', q(p.preloadHint.uri)]])}`);
  if (p.endList) lines.push('#EXT-X-ENDLIST');
  for (const r of p.renditionReports ?? []) {
    lines.push(
      `#EXT-X-RENDITION-REPORT:${attributeList([
        ['URI', q(r.uri)],
        ['LAST-MSN', int(r.lastMsn)],
        ['LAST-PART', r.lastPart !== undefined ? int(r.lastPart) : undefined],
      ])}`,
    );
  }
  return lines.join('\n') + '\n';
}
