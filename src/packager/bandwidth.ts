import type { Segment } from './model.js';

/**
 * RFC 8216bis §4.4.6.2 (BANDWIDTH): "the peak segment bit rate ... is the largest
 * bit rate of any contiguous set of Segments whose total duration is between 0.5
 * and 1.5 times the target duration". A set that has no qualifying window (a very
 * short title) falls back to the largest single segment rate.
 */
export function segmentBitrates(segments: readonly Segment[], timescale: number, targetDurationSec: number): { peak: number; average: number } {
  if (segments.length === 0) return { peak: 0, average: 0 };
  let totalBytes = 0;
  let totalUnits = 0;
  for (const s of segments) { totalBytes += s.size; totalUnits += s.duration; }
  const average = Math.ceil((totalBytes * 8) / (totalUnits / timescale));
  const lo = 0.5 * targetDurationSec * timescale;
  const hi = 1.5 * targetDurationSec * timescale;
  let peak = 0;
  for (let i = 0; i < segments.length; i++) {
    let bytes = 0;
    let units = 0;
    for (let j = i; j < segments.length; j++) {
      bytes += segments[j].size;
      units += segments[j].duration;
      if (units > hi) break;
      if (units >= lo && units > 0) peak = Math.max(peak, (bytes * 8) / (units / timescale));
    }
  }
  if (peak === 0) for (const s of segments) if (s.duration > 0) peak = Math.max(peak, (s.size * 8) / (s.duration / timescale));
  return { peak: Math.ceil(Math.max(peak, average)), average };
}
