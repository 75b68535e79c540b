/** Encoding ladders: named presets, JSON ladders, and derivation from the source (never upscaling). */
import { createError } from '../shared/errors.js';
import type { SourceInfo } from './probe.js';

export interface VideoRung {
  /** Short side in pixels ("720p" = 720). */
  height: number;
  bitrateKbps: number;
  profile?: 'high' | 'main' | 'baseline';
}

export interface Ladder {
  name: string;
  /** x264 preset: trade speed for quality per machine. */
  x264Preset: 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium' | 'slow';
  keyframeIntervalSec: number;
  /** A multiple of keyframeIntervalSec. */
  segmentSec: number;
  maxFrameRate: number;
  video: VideoRung[];
  audio: { bitrateKbps: number };
}

export const LADDER_PRESETS: Record<string, Ladder> = {
  standard: {
    name: 'standard',
    x264Preset: 'veryfast',
    keyframeIntervalSec: 2,
    segmentSec: 4,
    maxFrameRate: 60,
    video: [
      { height: 1080, bitrateKbps: 5000, profile: 'high' },
      { height: 720, bitrateKbps: 3000, profile: 'high' },
      { height: 480, bitrateKbps: 1400, profile: 'main' },
      { height: 360, bitrateKbps: 800, profile: 'main' },
    ],
    audio: { bitrateKbps: 128 },
  },
  fast: {
    name: 'fast',
    x264Preset: 'superfast',
    keyframeIntervalSec: 2,
    segmentSec: 4,
    maxFrameRate: 60,
    video: [
      { height: 720, bitrateKbps: 3000, profile: 'high' },
      { height: 480, bitrateKbps: 1400, profile: 'main' },
      { height: 360, bitrateKbps: 800, profile: 'main' },
    ],
    audio: { bitrateKbps: 128 },
  },
  draft: {
    name: 'draft',
    x264Preset: 'ultrafast',
    keyframeIntervalSec: 2,
    segmentSec: 4,
    maxFrameRate: 30,
    video: [
      { height: 720, bitrateKbps: 2500, profile: 'high' },
      { height: 360, bitrateKbps: 700, profile: 'main' },
    ],
    audio: { bitrateKbps: 96 },
  },
};

const PRESETS_X264 = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'];

/** Validates a ladder from JSON (a file or an API parameter); messages name the field. */
export function parseLadder(raw: unknown): Ladder {
  const bad = (field: string, msg: string): never => {
    throw createError('INVALID_LADDER', `ladder.${field}: ${msg}`);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) bad('', 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  const base = LADDER_PRESETS[typeof o.base === 'string' ? o.base : 'standard'] ?? bad('base', `unknown preset ${JSON.stringify(o.base)}`);
  const num = (field: string, v: unknown, min: number, max: number, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(field, `must be a number in [${min}, ${max}]`);
    return v as number;
  };
  const keyframeIntervalSec = num('keyframeIntervalSec', o.keyframeIntervalSec, 0.5, 10, base.keyframeIntervalSec);
  const segmentSec = num('segmentSec', o.segmentSec, 1, 30, base.segmentSec);
  const ratio = segmentSec / keyframeIntervalSec;
  if (Math.abs(ratio - Math.round(ratio)) > 1e-9) bad('segmentSec', `must be a multiple of keyframeIntervalSec (${keyframeIntervalSec})`);
  const x264Preset = o.x264Preset ?? base.x264Preset;
  if (typeof x264Preset !== 'string' || !PRESETS_X264.includes(x264Preset)) bad('x264Preset', `must be one of ${PRESETS_X264.join(', ')}`);
  let video = base.video;
  if (o.video !== undefined) {
    if (!Array.isArray(o.video) || o.video.length === 0 || o.video.length > 10) bad('video', 'must be an array of 1 to 10 rungs');
    video = (o.video as unknown[]).map((r, i) => {
      if (!r || typeof r !== 'object') bad(`video[${i}]`, 'must be an object');
      const rr = r as Record<string, unknown>;
      const profile = rr.profile ?? 'high';
      if (!['high', 'main', 'baseline'].includes(profile as string)) bad(`video[${i}].profile`, 'must be high, main or baseline');
      return {
        height: num(`video[${i}].height`, rr.height, 64, 4320, NaN),
        bitrateKbps: num(`video[${i}].bitrateKbps`, rr.bitrateKbps, 50, 100_000, NaN),
        profile: profile as VideoRung['profile'],
      };
    });
    if (video.some((r) => Number.isNaN(r.height) || Number.isNaN(r.bitrateKbps))) bad('video', 'every rung needs height and bitrateKbps');
    if (new Set(video.map((r) => r.height)).size !== video.length) bad('video', 'rung heights must be distinct');
  }
  const audioRaw = (o.audio ?? {}) as Record<string, unknown>;
  return {
    name: typeof o.name === 'string' ? o.name : 'custom',
    x264Preset: x264Preset as Ladder['x264Preset'],
    keyframeIntervalSec,
    segmentSec,
    maxFrameRate: num('maxFrameRate', o.maxFrameRate, 1, 120, base.maxFrameRate),
    video,
    audio: { bitrateKbps: num('audio.bitrateKbps', audioRaw.bitrateKbps, 32, 512, base.audio.bitrateKbps) },
  };
}

/** A ladder by preset name or as JSON text. */
export function resolveLadder(spec: string | undefined, fallback: string): Ladder {
  const s = (spec ?? fallback).trim();
  if (s.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      throw createError('INVALID_LADDER', 'ladder is not valid JSON');
    }
    return parseLadder(parsed);
  }
  const preset = LADDER_PRESETS[s];
  if (!preset) throw createError('INVALID_LADDER', `unknown ladder ${JSON.stringify(s)}; presets: ${Object.keys(LADDER_PRESETS).join(', ')}`);
  return preset;
}

export interface VideoRendition {
  id: string;
  width: number;
  height: number;
  bitrateKbps: number;
  maxrateKbps: number;
  bufsizeKbits: number;
  profile: 'high' | 'main' | 'baseline';
}

export interface EncodePlan {
  ladder: Ladder;
  /** Output frame rate [num, den], constant. */
  frameRate?: [number, number];
  video: VideoRendition[];
  audio?: { id: string; bitrateKbps: number; channels: 2; sampleRate: 48000; language?: string };
  deinterlace: boolean;
}

const even = (n: number): number => Math.max(2, 2 * Math.round(n / 2));

const COMMON_RATES: Array<[number, number]> = [[24000, 1001], [24, 1], [25, 1], [30000, 1001], [30, 1], [48, 1], [50, 1], [60000, 1001], [60, 1]];

/** Snaps a measured (possibly variable) rate to a standard one, halving rates above the ladder's maximum. */
export function outputFrameRate(src: [number, number], max: number): [number, number] {
  let fps = src[0] / src[1];
  let snapped: [number, number] | undefined = COMMON_RATES.filter(([n, d]) => Math.abs(n / d - fps) / fps < 0.01).sort((a, b) => Math.abs(a[0] / a[1] - fps) - Math.abs(b[0] / b[1] - fps))[0];
  if (!snapped) snapped = [Math.max(1, Math.round(fps)), 1];
  fps = snapped[0] / snapped[1];
  while (fps > max + 0.01) {
    snapped = snapped[0] % 2 === 0 ? [snapped[0] / 2, snapped[1]] : [snapped[0], snapped[1] * 2];
    fps = snapped[0] / snapped[1];
  }
  return snapped;
}

export function deriveEncodePlan(source: SourceInfo, ladder: Ladder): EncodePlan {
  const plan: EncodePlan = { ladder, video: [], deinterlace: false };
  const v = source.video;
  if (v) {
    // Rounded down to even: the source-size rung must not upscale by a pixel either.
    const short = Math.floor(Math.min(v.displayWidth, v.displayHeight) / 2) * 2;
    const portrait = v.displayHeight > v.displayWidth;
    const aspect = v.displayWidth / v.displayHeight;
    // Never upscale: keep rungs at or below the source; a small source gets one rung at its own size.
    let rungs = ladder.video.filter((r) => r.height <= short);
    if (rungs.length === 0) rungs = [{ ...ladder.video[ladder.video.length - 1], height: short }];
    plan.frameRate = outputFrameRate(v.frameRate, ladder.maxFrameRate);
    const fpsFactor = plan.frameRate[0] / plan.frameRate[1] > 31 ? 1.5 : 1;
    plan.deinterlace = v.interlaced;
    for (const r of rungs) {
      const h = portrait ? even(r.height / aspect) : even(r.height);
      const w = portrait ? even(r.height) : even(r.height * aspect);
      // Bitrates follow the pixel count relative to the rung's 16:9 frame.
      const areaFactor = Math.min(1.5, Math.max(0.5, (w * h) / (even((r.height * 16) / 9) * r.height)));
      const kbps = Math.round(r.bitrateKbps * areaFactor * fpsFactor);
      plan.video.push({ id: `${r.height}p`, width: w, height: h, bitrateKbps: kbps, maxrateKbps: Math.round(kbps * 1.1), bufsizeKbits: kbps * 2, profile: r.profile ?? 'high' });
    }
  }
  if (source.audio) plan.audio = { id: 'audio', bitrateKbps: ladder.audio.bitrateKbps, channels: 2, sampleRate: 48000, language: source.audio.language };
  return plan;
}
