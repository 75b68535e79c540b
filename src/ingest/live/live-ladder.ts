/**
 * Live ladders: either passthrough (repackage the publisher's H.264/AAC, no
 * re-encode) or a small transcoding ladder whose x264 preset keeps up in real time
 * on a 2-core machine (MACHINE-NOTES: a 1080p ladder at veryfast does not).
 */
import { createError } from '../../shared/errors.js';

export interface LiveVideoRung { id: string; height: number; bitrateKbps: number }

export interface LiveLadder {
  name: string;
  passthrough: boolean;
  x264Preset: 'ultrafast' | 'superfast' | 'veryfast';
  video: LiveVideoRung[];
  audio: { bitrateKbps: number };
}

export const LIVE_LADDERS: Record<string, LiveLadder> = {
  passthrough: { name: 'passthrough', passthrough: true, x264Preset: 'ultrafast', video: [{ id: 'source', height: 0, bitrateKbps: 0 }], audio: { bitrateKbps: 128 } },
  sd: {
    name: 'sd',
    passthrough: false,
    x264Preset: 'superfast',
    video: [
      { id: 'v540', height: 540, bitrateKbps: 1800 },
      { id: 'v360', height: 360, bitrateKbps: 800 },
    ],
    audio: { bitrateKbps: 128 },
  },
  low: {
    name: 'low',
    passthrough: false,
    x264Preset: 'ultrafast',
    video: [
      { id: 'v360', height: 360, bitrateKbps: 700 },
      { id: 'v240', height: 240, bitrateKbps: 350 },
    ],
    audio: { bitrateKbps: 96 },
  },
};

export const AUDIO_RENDITION_ID = 'audio';

export function liveLadder(name: unknown): LiveLadder {
  if (name === undefined) return LIVE_LADDERS.sd;
  if (typeof name !== 'string' || !LIVE_LADDERS[name]) {
    throw createError('INVALID_LADDER', `live ladder must be one of ${Object.keys(LIVE_LADDERS).join(', ')}; got ${JSON.stringify(name)?.slice(0, 60)}`);
  }
  return LIVE_LADDERS[name];
}
