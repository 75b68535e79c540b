/**
 * Groups CMAF chunks into CMAF segments (ISO/IEC 23000-19 §7.3.3): a segment
 * starts with an independent chunk whose earliest presentation time has reached
 * the next boundary (origin + k × target). Boundaries do not drift: they are
 * counted from the track origin, not from the previous cut.
 */
import type { Segment } from './model.js';

export interface ChunkRef {
  decodeTime: number;
  duration: number;
  earliestPresentationTime: number;
  independent: boolean;
  offset: number;
  size: number;
}

export function cutSegments(chunks: readonly ChunkRef[], timescale: number, targetSec: number): Segment[] {
  if (chunks.length === 0) return [];
  if (!chunks[0].independent) throw new Error('first chunk is not independent: the track cannot be segmented');
  const target = targetSec * timescale;
  const origin = chunks[0].earliestPresentationTime;
  const groups: ChunkRef[][] = [];
  for (const chunk of chunks) {
    const boundary = origin + groups.length * target;
    if (groups.length === 0 || (chunk.independent && chunk.earliestPresentationTime >= boundary)) groups.push([chunk]);
    else groups[groups.length - 1].push(chunk);
  }
  return groups.map((g, i) => {
    const first = g[0];
    const last = g[g.length - 1];
    return {
      number: i + 1,
      time: first.earliestPresentationTime,
      duration: last.decodeTime + last.duration - first.decodeTime,
      offset: first.offset,
      size: last.offset + last.size - first.offset,
    };
  });
}
