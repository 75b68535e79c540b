/** Builds the title timeline from scanned CMAF tracks. Pure: the clock arrives as `publishedAt`. */
import type { ScannedTrack } from './bmff/scan-track.js';
import { segmentBitrates } from './bandwidth.js';
import type { Rendition, TitleTimeline } from './model.js';
import { cutSegments } from './segmenter.js';
import { hlsTargetDuration } from './hls/target-duration.js';

export interface TrackInput { id: string; object: string; scan: ScannedTrack }

export class TimelineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimelineError';
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export function buildRendition(input: TrackInput, segmentTargetSec: number): Rendition {
  const { init, chunks, initRange } = input.scan;
  const segments = cutSegments(chunks, init.timescale, segmentTargetSec);
  const targetDuration = hlsTargetDuration(segments.map((s) => s.duration / init.timescale));
  const rendition: Rendition = {
    id: input.id,
    kind: init.kind,
    codecs: init.codecs,
    timescale: init.timescale,
    object: input.object,
    init: initRange,
    segments,
    bandwidth: segmentBitrates(segments, init.timescale, targetDuration),
  };
  if (init.language) rendition.language = init.language;
  if (init.kind === 'video') {
    rendition.width = init.width;
    rendition.height = init.height;
    rendition.sar = init.sar ?? [1, 1];
    const counts = new Map<number, number>();
    for (const c of chunks) counts.set(c.typicalSampleDuration, (counts.get(c.typicalSampleDuration) ?? 0) + c.sampleCount);
    const [dur] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    if (dur > 0) {
      const g = gcd(init.timescale, dur);
      rendition.frameRate = [init.timescale / g, dur / g];
    }
  } else {
    rendition.sampleRate = init.sampleRate;
    rendition.channels = init.channels;
  }
  return rendition;
}

/**
 * CMAF switching-set alignment (ISO/IEC 23000-19 §7.3.4): video renditions must
 * cut their segments at the same presentation times, or players switching
 * between them would skip or repeat media.
 */
export function checkAlignment(renditions: readonly Rendition[]): void {
  const video = renditions.filter((r) => r.kind === 'video');
  for (const r of video.slice(1)) {
    const ref = video[0];
    if (r.segments.length !== ref.segments.length) {
      throw new TimelineError(`rendition ${r.id} has ${r.segments.length} segments, ${ref.id} has ${ref.segments.length}`);
    }
    r.segments.forEach((s, i) => {
      const a = s.time / r.timescale;
      const b = ref.segments[i].time / ref.timescale;
      if (Math.abs(a - b) > 0.001) throw new TimelineError(`segment ${s.number} of ${r.id} starts at ${a}s, of ${ref.id} at ${b}s`);
    });
  }
}

export function buildTimeline(args: { titleId: string; version: string; publishedAt: string; segmentTargetSec: number; tracks: TrackInput[] }): TitleTimeline {
  if (args.tracks.length === 0) throw new TimelineError('a title needs at least one track');
  const renditions = args.tracks.map((t) => buildRendition(t, args.segmentTargetSec));
  checkAlignment(renditions);
  const durationSec = Math.max(
    ...renditions.map((r) => {
      const last = r.segments[r.segments.length - 1];
      return (last.time + last.duration - r.segments[0].time) / r.timescale;
    }),
  );
  return { schema: 1, titleId: args.titleId, version: args.version, publishedAt: args.publishedAt, durationSec: Math.round(durationSec * 1000) / 1000, segmentTargetSec: args.segmentTargetSec, renditions };
}
