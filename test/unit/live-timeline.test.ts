/**
 * The live packager on its own (no I/O): CMAF chunk streams made by ffmpeg (one chunk per
 * frame, as the live encoder writes them) fed through CmafStreamReader into LiveTimeline with a
 * simulated clock. Checks parts, segments, renditions in step, sessions, eviction, restore.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CmafStreamReader, LiveTimeline, liveMediaModel, renderLiveMediaPlaylist, type CmafUnit } from '../../src/packager/index.js';
import { marshalMediaPlaylist } from '../../src/packager/hls/media-playlist.js';

let video: CmafUnit[];
let audio: CmafUnit[];

function cmaf(args: string[], out: string): CmafUnit[] {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, '-f', 'mp4', '-movflags', '+frag_every_frame+empty_moov+default_base_moof+cmaf', out]);
  const r = new CmafStreamReader();
  const buf = readFileSync(out);
  // Feed in odd-sized pieces, as a pipe would deliver them.
  const units: CmafUnit[] = [];
  for (let i = 0; i < buf.length; i += 7777) units.push(...r.push(buf.subarray(i, i + 7777)));
  // Only the trailing mfra (random access index, written at the end of the file) is left over.
  expect(units.filter((u) => u.kind === 'header')).toHaveLength(1);
  expect(r.buffered).toBeLessThan(8192);
  return units;
}

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'live-unit-'));
  video = cmaf(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-t', '7', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-pix_fmt', 'yuv420p'], join(dir, 'v.mp4'));
  audio = cmaf(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '7', '-c:a', 'aac', '-b:a', '64k'], join(dir, 'a.mp4'));
});

const EPOCH = Date.UTC(2026, 0, 1);
const specs = [
  { id: 'v', kind: 'video' as const, bandwidth: 500_000 },
  { id: 'a', kind: 'audio' as const, bandwidth: 64_000 },
];

/** Interleaves the two streams by chunk order (audio first, as the hardest case for the hold logic). */
function feed(tl: LiveTimeline, startMs: number, count = Infinity): void {
  tl.beginSession();
  let vi = 0;
  let ai = 0;
  let n = 0;
  while ((vi < video.length || ai < audio.length) && n < count) {
    if (ai < audio.length && (ai <= vi * 1.6 || vi >= video.length)) tl.push('a', audio[ai++], startMs + n * 10);
    else tl.push('v', video[vi++], startMs + n * 10);
    n++;
  }
}

describe('LiveTimeline', () => {
  it('cuts 2 s segments at keyframes and parts on a 0.5 s grid, renditions in step', () => {
    const tl = new LiveTimeline({ segmentTargetSec: 2, partTargetSec: 0.5, windowSec: 60, epochMs: EPOCH }, specs, { changed: () => undefined });
    feed(tl, EPOCH + 1000);
    tl.endSession();
    const [v, a] = tl.renditions;
    expect(v.segments.map((s) => s.msn)).toEqual([0, 1, 2, 3]);
    expect(a.segments.map((s) => s.msn)).toEqual([0, 1, 2, 3]);
    for (const s of v.segments.slice(0, 3)) {
      expect(s.duration / s.timescale).toBeCloseTo(2, 5);
      expect(s.parts.map((p) => p.duration)).toEqual([0.5, 0.5, 0.5, 0.5]);
      expect(s.parts[0].independent).toBe(true);
      expect(s.parts.slice(1).every((p) => !p.independent)).toBe(true);
    }
    for (let i = 0; i < 4; i++) {
      // Audio segments start within one AAC frame of the video's.
      expect(Math.abs(a.segments[i].time / a.segments[i].timescale - v.segments[i].time / v.segments[i].timescale)).toBeLessThan(0.022);
      for (const p of a.segments[i].parts) expect(p.duration).toBeLessThanOrEqual(tl.partTarget);
    }
    // Every chunk landed in exactly one part.
    expect(v.segments.reduce((n, s) => n + s.parts.reduce((m, p) => m + p.chunkCount, 0), 0)).toBe(video.length - 1);
    // The first media sits on the channel clock at its arrival time (less one chunk).
    expect(v.segments[0].time / v.segments[0].timescale).toBeCloseTo(1 - 1 / 30, 1);
  });

  it('a second session continues the clock and numbering after a discontinuity', () => {
    const tl = new LiveTimeline({ segmentTargetSec: 2, partTargetSec: 0.5, windowSec: 60, epochMs: EPOCH }, specs, { changed: () => undefined });
    feed(tl, EPOCH);
    feed(tl, EPOCH + 3000); // arrives "early": must still start after the first session's end
    tl.end();
    const v = tl.renditions[0];
    expect(v.segments.map((s) => [s.msn, s.session, s.discontinuity])).toEqual([
      [0, 1, false], [1, 1, false], [2, 1, false], [3, 1, false],
      [4, 2, true], [5, 2, false], [6, 2, false], [7, 2, false],
    ]);
    expect(v.segments[4].time).toBeGreaterThanOrEqual(v.segments[3].time + v.segments[3].duration);
    expect(tl.sessions.map((s) => s.firstMsn)).toEqual([0, 4]);
    const text = renderLiveMediaPlaylist(tl, 'v', { lowLatency: true })!;
    expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-2\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:/);
    expect(text).toMatch(/#EXT-X-ENDLIST\n/);
    expect(text).not.toMatch(/PRELOAD-HINT/);
  });

  it('evicts in step and counts removed discontinuities (EXT-X-DISCONTINUITY-SEQUENCE)', () => {
    const evicted: string[] = [];
    const tl = new LiveTimeline({ segmentTargetSec: 2, partTargetSec: 0.5, windowSec: 4, epochMs: EPOCH }, specs, { changed: () => undefined, evicted: (r, s) => evicted.push(`${r.id}${s.msn}`) });
    feed(tl, EPOCH);
    feed(tl, EPOCH + 8000);
    feed(tl, EPOCH + 16000);
    tl.endSession();
    const [v, a] = tl.renditions;
    expect(v.segments[0].msn).toBe(a.segments[0].msn);
    expect(evicted).toContain('v4');
    expect(evicted).toContain('a4');
    // Sessions 2 and 3 each began with a discontinuity (msn 4 and 8); a 4 s window keeps only the
    // end of session 3, so both tags have left and the sequence counts them.
    expect(v.segments.every((s) => s.session === 3 && !s.discontinuity)).toBe(true);
    expect(evicted).toContain('v8');
    expect(tl.discontinuitySequence).toBe(2);
    const m = liveMediaModel(tl, 'v', { lowLatency: false })!;
    expect(m.discontinuitySequence).toBe(2);
    expect(m.mediaSequence).toBe(v.segments[0].msn);
  });

  it('parts of the open segment and the preload hint while media is coming in', () => {
    const tl = new LiveTimeline({ segmentTargetSec: 2, partTargetSec: 0.5, windowSec: 60, epochMs: EPOCH }, specs, { changed: () => undefined });
    feed(tl, EPOCH, 200); // stop mid-stream, session still open
    const m = liveMediaModel(tl, 'v', { lowLatency: true })!;
    expect(m.openSegment?.parts.length).toBeGreaterThan(0);
    expect(m.preloadHint?.uri).toMatch(/^\d+\.\d+\.m4s$/);
    expect(m.renditionReports?.map((r) => r.uri)).toEqual(['../a/media.m3u8']);
    expect(() => marshalMediaPlaylist(m)).not.toThrow();
  });

  it('restore lists segments the dead process had open as EXT-X-GAP', () => {
    const tl = new LiveTimeline({ segmentTargetSec: 2, partTargetSec: 0.5, windowSec: 60, epochMs: EPOCH }, specs, { changed: () => undefined }, { nextMsn: 5, session: 3 });
    const seg = { msn: 3, session: 2, discontinuity: false, time: 90000, duration: 180000, timescale: 90000, bytes: 100, independent: true };
    tl.restore({ sessions: [{ no: 2, startSec: 1, firstMsn: 3 }], ended: false, renditions: [{ id: 'v', info: undefined, segments: [seg] }] });
    expect(tl.renditions[0].segments.map((s) => [s.msn, Boolean(s.gap)])).toEqual([[3, false], [4, true]]);
    expect(() => tl.beginSession(3)).toThrow(/not after/);
    expect(tl.beginSession(4)).toBe(4);
  });
});
