/**
 * The live timeline model: per channel, per rendition, the segments of the DVR
 * window and the parts of each. Media lives here while the segment is in the
 * window; the renderers read the same objects (never a copy) to write playlists.
 *
 * Times are on the channel clock: seconds since the channel epoch
 * (availabilityStartTime), in each track's timescale. Media sequence numbers are
 * shared by every rendition (segment N covers the same time in all of them).
 */
import type { InitInfo } from '../bmff/init-segment.js';

export interface LivePart {
  /** Seconds. */
  duration: number;
  /** Starts with an independent (sync) sample: INDEPENDENT=YES (RFC 8216bis §4.4.4.9). */
  independent: boolean;
  /** Index of the first chunk of the part in its segment's `chunks`. */
  firstChunk: number;
  chunkCount: number;
  bytes: number;
  /** Concatenated bytes, made on first request. */
  data?: Buffer;
  /** Arrival time (ms) of the media that completed the part: when it became available. */
  readyAt?: number;
}

export interface LiveSegment {
  msn: number;
  /** Encoder session the media came from; each session has its own init segment. */
  session: number;
  /** First segment of a session that follows another one (EXT-X-DISCONTINUITY, new DASH Period). */
  discontinuity: boolean;
  /** Decode time of the first sample, track timescale, channel clock. */
  time: number;
  /** Track timescale. Grows while the segment is open. */
  duration: number;
  /** Ticks per second of `time` and `duration` (a new session may bring another timescale). */
  timescale: number;
  independent: boolean;
  chunks: Buffer[];
  parts: LivePart[];
  bytes: number;
  complete: boolean;
  /** Complete segment bytes, made on first request. */
  data?: Buffer;
  /** The bytes are in the object store (written after completion, or restored after a restart with no bytes here). */
  stored?: boolean;
  /** No media: it was in production when the previous process stopped (EXT-X-GAP). */
  gap?: boolean;
}

export interface LiveRendition {
  id: string;
  kind: 'video' | 'audio';
  /** Declared bits per second (the ladder's nominal rate); measured peaks may raise it. */
  nominalBandwidth: number;
  /** Track header of the latest session. */
  info?: InitInfo;
  inits: Map<number, Buffer>;
  segments: LiveSegment[];
}

/** Bytes of part `index`: a view into the segment once it is complete, else its chunks joined (once). */
export function partData(seg: LiveSegment, index: number): Buffer {
  const p = seg.parts[index];
  if (seg.data) {
    let start = 0;
    for (let i = 0; i < p.firstChunk; i++) start += seg.chunks[i].length;
    return seg.data.subarray(start, start + p.bytes);
  }
  p.data ??= p.chunkCount === 1 ? seg.chunks[p.firstChunk] : Buffer.concat(seg.chunks.slice(p.firstChunk, p.firstChunk + p.chunkCount), p.bytes);
  return p.data;
}

/**
 * Bytes of the segment. A complete segment is joined once, and its chunks and parts become views
 * into that one buffer, so the window is held in memory once, not twice.
 */
export function segmentData(seg: LiveSegment): Buffer {
  if (!seg.complete) return Buffer.concat(seg.chunks);
  if (!seg.data) {
    const data = Buffer.concat(seg.chunks, seg.bytes);
    let off = 0;
    seg.chunks = seg.chunks.map((c) => data.subarray(off, (off += c.length)));
    for (const p of seg.parts) p.data = undefined;
    seg.data = data;
  }
  return seg.data;
}

export const segmentSeconds = (seg: LiveSegment): number => seg.duration / seg.timescale;
export const segmentStartSec = (seg: LiveSegment): number => seg.time / seg.timescale;
export const segmentEndSec = (seg: LiveSegment): number => (seg.time + seg.duration) / seg.timescale;
