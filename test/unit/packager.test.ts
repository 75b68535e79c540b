import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildTimeline, bufferAccess, checkAlignment, scanTrack, TimelineError } from '../../src/packager/index.js';
import { segmentBitrates } from '../../src/packager/bandwidth.js';
import { cutSegments } from '../../src/packager/segmenter.js';
import { hlsTargetDuration } from '../../src/packager/hls/target-duration.js';
import { compactTimeline } from '../../src/packager/dash/render-vod.js';
import { isoDuration } from '../../src/packager/dash/xml.js';

const chunk = (t: number, d: number, independent = true) => ({ decodeTime: t, duration: d, earliestPresentationTime: t, independent, offset: t, size: d });

describe('segmenter', () => {
  it('groups chunks at boundaries counted from the origin (no drift)', () => {
    // audio-like chunks of 0.512 s (timescale 1000): boundaries at 4 s, 8 s...
    const chunks = Array.from({ length: 20 }, (_, i) => chunk(i * 512, 512));
    const segs = cutSegments(chunks, 1000, 4);
    expect(segs.map((s) => s.time)).toEqual([0, 4096, 8192]);
    expect(segs.map((s) => s.number)).toEqual([1, 2, 3]);
    expect(segs[0].size).toBe(4096);
  });
  it('cuts only at independent chunks', () => {
    const segs = cutSegments([chunk(0, 2000), chunk(2000, 2000), chunk(4000, 2000, false), chunk(6000, 2000)], 1000, 4);
    expect(segs.map((s) => [s.time, s.duration])).toEqual([[0, 6000], [6000, 2000]]);
  });
  it('refuses a track that does not start independent', () => {
    expect(() => cutSegments([chunk(0, 1, false)], 1000, 4)).toThrow();
  });
});

describe('bandwidth (RFC 8216bis §4.4.6.2)', () => {
  it('peak over windows of 0.5–1.5 × target, average over all', () => {
    const segs = [
      { number: 1, time: 0, duration: 4000, offset: 0, size: 500_000 },
      { number: 2, time: 4000, duration: 4000, offset: 0, size: 1_000_000 },
      { number: 3, time: 8000, duration: 1000, offset: 0, size: 400_000 },
    ];
    const { peak, average } = segmentBitrates(segs, 1000, 4);
    // window {3} is 1 s < 2 s: not alone; {2,3} = 5 s ≤ 6 s → 1.4 MB*8/5
    expect(peak).toBe(Math.ceil((1_400_000 * 8) / 5));
    expect(average).toBe(Math.ceil((1_900_000 * 8) / 9));
  });
  it('target duration rounds each EXTINF (§4.4.3.1)', () => {
    expect(hlsTargetDuration([4.0, 4.49, 3.2])).toBe(4);
    expect(hlsTargetDuration([4.5])).toBe(5);
  });
});

describe('timeline from real CMAF tracks', () => {
  const f = (n: string) => bufferAccess(new Uint8Array(readFileSync(new URL(`../../fixtures/cmaf/${n}`, import.meta.url))));
  it('aligned renditions, codecs, frame rate, durations', async () => {
    const tracks = [];
    for (const [id, file] of [['72p', 'v72.mp4'], ['36p', 'v36.mp4'], ['audio', 'a.mp4']]) tracks.push({ id, object: file, scan: await scanTrack(f(file)) });
    const t = buildTimeline({ titleId: 't', version: 'v1', publishedAt: '2026-01-01T00:00:00Z', segmentTargetSec: 4, tracks });
    const v = t.renditions[0];
    expect(v).toMatchObject({ kind: 'video', width: 128, height: 72, frameRate: [25, 1] });
    expect(v.segments.map((s) => s.time / v.timescale)).toEqual([0, 4]);
    expect(t.durationSec).toBeGreaterThanOrEqual(6);
    expect(t.durationSec).toBeLessThan(6.1);
    // the second rendition cut at the same times
    expect(t.renditions[1].segments.map((s) => s.time / t.renditions[1].timescale)).toEqual([0, 4]);
    const broken = structuredClone(t);
    broken.renditions[1].segments[1].time += broken.renditions[1].timescale;
    expect(() => checkAlignment(broken.renditions)).toThrow(TimelineError);
  });
});

describe('DASH helpers', () => {
  it('SegmentTimeline compaction (ISO/IEC 23009-1 §5.3.9.6)', () => {
    expect(compactTimeline([
      { number: 1, time: 0, duration: 4, offset: 0, size: 1 },
      { number: 2, time: 4, duration: 4, offset: 0, size: 1 },
      { number: 3, time: 8, duration: 3, offset: 0, size: 1 },
      { number: 4, time: 20, duration: 3, offset: 0, size: 1 },
    ])).toEqual([{ t: 0, d: 4, r: 1 }, { d: 3 }, { t: 20, d: 3 }]);
  });
  it('xs:duration', () => {
    expect(isoDuration(12.021)).toBe('PT12.021S');
    expect(isoDuration(7200)).toBe('PT2H');
    expect(isoDuration(3725.5)).toBe('PT1H2M5.5S');
    expect(isoDuration(0)).toBe('PT0S');
  });
});
