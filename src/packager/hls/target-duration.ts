/**
 * RFC 8216bis §4.4.3.1: "The EXTINF duration of each Media Segment in a Media
 * Playlist file, when rounded to the nearest integer, MUST be less than or equal
 * to the Target Duration."
 */
export function hlsTargetDuration(segmentDurationsSec: readonly number[]): number {
  let max = 1;
  for (const d of segmentDurationsSec) max = Math.max(max, Math.round(d));
  return max;
}
