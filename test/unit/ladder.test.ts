import { describe, expect, it } from 'vitest';
import { buildEncodeArgs, deriveEncodePlan, encodeArgv, interpretProbe, LADDER_PRESETS, parseLadder, resolveLadder } from '../../src/ingest/index.js';
import { outputFrameRate } from '../../src/ingest/ladder.js';
import { CascadeError } from '../../src/shared/errors.js';

const probe = (v: Record<string, unknown> | undefined, a: Record<string, unknown> | null = { codec_type: 'audio', codec_name: 'aac', channels: 2, sample_rate: '48000' }) =>
  interpretProbe({ format: { duration: '60', format_name: 'mov' }, streams: [v && { codec_type: 'video', codec_name: 'h264', avg_frame_rate: '30/1', pix_fmt: 'yuv420p', ...v }, a ?? undefined].filter(Boolean) }, 1000);

describe('ladder derivation', () => {
  it('1080p source gets the full standard ladder, aligned sizes, AAC stereo', () => {
    const plan = deriveEncodePlan(probe({ width: 1920, height: 1080 }), LADDER_PRESETS.standard);
    expect(plan.video.map((r) => `${r.id}:${r.width}x${r.height}@${r.bitrateKbps}`)).toEqual(['1080p:1920x1080@5000', '720p:1280x720@3000', '480p:854x480@1400', '360p:640x360@800']);
    expect(plan.audio).toMatchObject({ channels: 2, sampleRate: 48000 });
    expect(plan.frameRate).toEqual([30, 1]);
  });

  it('never upscales: a 540p source stops at 480p; a tiny source gets one rung at its size', () => {
    expect(deriveEncodePlan(probe({ width: 960, height: 540 }), LADDER_PRESETS.standard).video.map((r) => r.id)).toEqual(['480p', '360p']);
    const tiny = deriveEncodePlan(probe({ width: 321, height: 241 }), LADDER_PRESETS.standard).video;
    expect(tiny).toHaveLength(1);
    expect(tiny[0]).toMatchObject({ width: 320, height: 240 });
  });

  it('anamorphic pixels become square: 720x576 with SAR 16:15 is shown 768x576', () => {
    const p = deriveEncodePlan(probe({ width: 720, height: 576, sample_aspect_ratio: '16:15' }), LADDER_PRESETS.standard);
    expect(p.video[0]).toMatchObject({ id: '480p', width: 640, height: 480 });
  });

  it('rotation metadata swaps the display size (portrait rungs keep their short side)', () => {
    const src = probe({ width: 1920, height: 1080, side_data_list: [{ rotation: -90 }] });
    expect(src.video).toMatchObject({ displayWidth: 1080, displayHeight: 1920, rotation: 270 });
    expect(deriveEncodePlan(src, LADDER_PRESETS.standard).video[0]).toMatchObject({ width: 1080, height: 1920 });
  });

  it('interlaced sources are deinterlaced; odd sizes made even; variable rates snapped', () => {
    const p = deriveEncodePlan(probe({ width: 1920, height: 1080, field_order: 'tt', avg_frame_rate: '2997/100' }), LADDER_PRESETS.standard);
    expect(p.deinterlace).toBe(true);
    expect(p.frameRate).toEqual([30000, 1001]);
    expect(outputFrameRate([120, 1], 60)).toEqual([60, 1]);
    expect(outputFrameRate([50, 1], 30)).toEqual([25, 1]);
    expect(outputFrameRate([17, 1], 60)).toEqual([17, 1]);
  });

  it('audio-only and video-only sources plan only what they have', () => {
    expect(deriveEncodePlan(probe(undefined), LADDER_PRESETS.standard).video).toEqual([]);
    expect(deriveEncodePlan(probe({ width: 640, height: 360 }, null), LADDER_PRESETS.standard).audio).toBeUndefined();
  });

  it('refuses media bombs before decoding', () => {
    expect(() => probe({ width: 100000, height: 100000 })).toThrow(/exceeds/);
    expect(() => interpretProbe({ format: { duration: '9999999' }, streams: [{ codec_type: 'audio' }] }, 1)).toThrow(CascadeError);
  });
});

describe('ladder parsing', () => {
  it('accepts presets and JSON, naming the bad field', () => {
    expect(resolveLadder('fast', 'standard').name).toBe('fast');
    expect(resolveLadder(undefined, 'draft').name).toBe('draft');
    const l = parseLadder({ video: [{ height: 480, bitrateKbps: 900 }], segmentSec: 6, keyframeIntervalSec: 2 });
    expect(l).toMatchObject({ segmentSec: 6, video: [{ height: 480, bitrateKbps: 900, profile: 'high' }] });
    expect(() => resolveLadder('nope', 'standard')).toThrow(/unknown ladder/);
    expect(() => parseLadder({ segmentSec: 5, keyframeIntervalSec: 2 })).toThrow(/ladder.segmentSec/);
    expect(() => parseLadder({ video: [{ height: 10, bitrateKbps: 1 }] })).toThrow(/ladder.video\[0\].height/);
    expect(() => resolveLadder('{bad', 'standard')).toThrow(/not valid JSON/);
  });
});

describe('ffmpeg arguments (pure, snapshot)', () => {
  it('one decode, split to every rendition, aligned closed GOPs, CMAF outputs', () => {
    const plan = deriveEncodePlan(probe({ width: 1920, height: 1080, field_order: 'tt' }, { codec_type: 'audio', codec_name: 'ac3', channels: 6, sample_rate: '48000', tags: { language: 'eng' } }), LADDER_PRESETS.standard);
    const args = buildEncodeArgs(plan, '/in/source', '/out');
    expect(args.filterGraph).toMatchSnapshot();
    expect(encodeArgv(args)).toMatchSnapshot();
    // every video output has the same GOP settings
    const gops = args.outputs.filter((o) => o.kind === 'video').map((o) => o.options.slice(o.options.indexOf('-g'), o.options.indexOf('-g') + 10).join(' '));
    expect(new Set(gops).size).toBe(1);
  });
});
