/** ffprobe the source and reduce the answer to what the ladder and encoder need. */
import { stat } from 'node:fs/promises';
import { createError } from '../shared/errors.js';
import type { Supervisor } from '../shared/supervisor.js';

export interface SourceVideo {
  codec: string;
  /** Coded size. */
  width: number;
  height: number;
  /** Size as displayed: sample aspect ratio applied, rotation applied. */
  displayWidth: number;
  displayHeight: number;
  rotation: number;
  /** Average frame rate as [num, den]. */
  frameRate: [number, number];
  interlaced: boolean;
  pixFmt: string;
}

export interface SourceAudio { codec: string; channels: number; sampleRate: number; language?: string }

export interface SourceInfo {
  sizeBytes: number;
  durationSec: number;
  formatName: string;
  video?: SourceVideo;
  audio?: SourceAudio;
}

/** Guards against media bombs: absurd declared sizes or durations are refused before decoding. */
export const SOURCE_LIMITS = { maxDimension: 8192, maxDurationSec: 24 * 3600, maxFrameRate: 240 } as const;

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  field_order?: string;
  pix_fmt?: string;
  channels?: number;
  sample_rate?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
  disposition?: { attached_pic?: number };
}

const ratio = (s: string | undefined): [number, number] | undefined => {
  const m = /^(\d+)[/:](\d+)$/.exec(s ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  const d = Number(m[2]);
  return n > 0 && d > 0 ? [n, d] : undefined;
};

export function interpretProbe(json: unknown, sizeBytes: number): SourceInfo {
  const j = json as { format?: { duration?: string; format_name?: string }; streams?: FfprobeStream[] };
  const streams = j.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  if (!v && !a) throw createError('SOURCE_NO_STREAMS');
  const durationSec = Number(j.format?.duration ?? NaN);
  const info: SourceInfo = { sizeBytes, durationSec: Number.isFinite(durationSec) ? durationSec : 0, formatName: j.format?.format_name ?? 'unknown' };
  if (info.durationSec > SOURCE_LIMITS.maxDurationSec) throw createError('SOURCE_UNSUPPORTED', `declared duration ${info.durationSec}s exceeds the ${SOURCE_LIMITS.maxDurationSec}s limit`);
  if (v) {
    const width = v.width ?? 0;
    const height = v.height ?? 0;
    if (width <= 0 || height <= 0) throw createError('SOURCE_UNSUPPORTED', 'the video stream has no frame size');
    if (width > SOURCE_LIMITS.maxDimension || height > SOURCE_LIMITS.maxDimension) throw createError('SOURCE_UNSUPPORTED', `frame size ${width}x${height} exceeds ${SOURCE_LIMITS.maxDimension} pixels`);
    const sar = ratio(v.sample_aspect_ratio) ?? [1, 1];
    let rotation = Number(v.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? v.tags?.rotate ?? 0);
    rotation = ((Math.round(rotation / 90) * 90) % 360 + 360) % 360;
    let dw = Math.round((width * sar[0]) / sar[1]);
    let dh = height;
    if (rotation === 90 || rotation === 270) [dw, dh] = [dh, dw];
    let frameRate = ratio(v.avg_frame_rate) ?? ratio(v.r_frame_rate) ?? [25, 1];
    if (frameRate[0] / frameRate[1] > SOURCE_LIMITS.maxFrameRate) frameRate = ratio(v.r_frame_rate) ?? [25, 1];
    info.video = {
      codec: v.codec_name ?? 'unknown',
      width,
      height,
      displayWidth: dw,
      displayHeight: dh,
      rotation,
      frameRate,
      interlaced: ['tt', 'bb', 'tb', 'bt'].includes(v.field_order ?? ''),
      pixFmt: v.pix_fmt ?? 'unknown',
    };
  }
  if (a) {
    const language = a.tags?.language && a.tags.language !== 'und' ? a.tags.language : undefined;
    info.audio = { codec: a.codec_name ?? 'unknown', channels: a.channels ?? 2, sampleRate: Number(a.sample_rate ?? 48000), language };
  }
  return info;
}

export async function probeSource(supervisor: Supervisor, ffprobePath: string, path: string, signal?: AbortSignal): Promise<SourceInfo> {
  const { size } = await stat(path);
  if (size === 0) throw createError('SOURCE_EMPTY');
  const res = await supervisor.exec('ffprobe', ffprobePath, ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path], { timeoutMs: 60_000, signal }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw createError('INTERNAL', `ffprobe not found at ${JSON.stringify(ffprobePath)}: install ffmpeg or set CASCADE_FFPROBE`);
    throw err;
  });
  if (res.code !== 0) {
    const reason = res.stderr.trim().split('\n').pop() ?? '';
    if (/moov atom not found|partial file|Truncat|End of file/i.test(res.stderr)) throw createError('SOURCE_TRUNCATED', `the source is truncated or damaged: ${reason}`);
    throw createError('SOURCE_NOT_MEDIA', `ffprobe cannot read the source: ${reason || `exit code ${res.code}`}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(res.stdout);
  } catch {
    throw createError('SOURCE_NOT_MEDIA', 'ffprobe returned no usable description of the source');
  }
  const streams = (json as { streams?: unknown[] }).streams ?? [];
  if (streams.length === 0) throw createError('SOURCE_NOT_MEDIA', 'ffprobe found no streams: the source is not a media file');
  return interpretProbe(json, size);
}
