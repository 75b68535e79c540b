/**
 * Pure construction of the one-decode ABR encode (`split` into every rendition).
 * Snapshot-tested; the fluent-ffmpeg adapter and the encode benchmark both use it,
 * so the benchmark measures exactly what a job runs.
 */
import type { EncodePlan } from './ladder.js';

export interface EncodeOutput { id: string; kind: 'video' | 'audio'; path: string; options: string[] }

export interface EncodeArgs {
  input: string;
  /** Global and input options (ffmpeg applies global options wherever they stand). */
  inputOptions: string[];
  filterGraph?: string;
  outputs: EncodeOutput[];
}

/**
 * CMAF track files (ISO/IEC 23000-19 §7): one track per file, empty moov, a
 * fragment (chunk) at every keyframe for video; `cmaf` brands and negative
 * composition offsets instead of edit lists; no mfra trailer.
 */
const CMAF_MOVFLAGS = '+empty_moov+default_base_moof+cmaf+skip_trailer';

/** Audio chunks of ~0.5 s; the packager groups chunks into segments. */
const AUDIO_CHUNK_US = 500_000;

export function buildEncodeArgs(plan: EncodePlan, input: string, outDir: string): EncodeArgs {
  const { ladder } = plan;
  const inputOptions = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-progress', 'pipe:2', '-nostats', '-stats_period', '1'];
  const outputs: EncodeOutput[] = [];
  let filterGraph: string | undefined;
  if (plan.video.length > 0 && plan.frameRate) {
    const [fn, fd] = plan.frameRate;
    const fps = fd === 1 ? String(fn) : `${fn}/${fd}`;
    const gop = Math.ceil((ladder.keyframeIntervalSec * fn) / fd);
    const pre = [plan.deinterlace ? 'yadif=mode=send_frame:deint=interlaced' : undefined, `fps=fps=${fps}`].filter(Boolean).join(',');
    const n = plan.video.length;
    const labels = plan.video.map((_, i) => `[s${i}]`).join('');
    const branches = plan.video.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1,format=yuv420p[v${i}]`);
    filterGraph = [`[0:v:0]${pre},split=${n}${labels}`, ...branches].join(';');
    plan.video.forEach((r, i) => {
      outputs.push({
        id: r.id,
        kind: 'video',
        path: `${outDir}/${r.id}.mp4`,
        options: [
          '-map', `[v${i}]`,
          '-map_metadata', '-1',
          '-map_chapters', '-1',
          '-c:v', 'libx264',
          '-preset', ladder.x264Preset,
          '-profile:v', r.profile,
          '-b:v', `${r.bitrateKbps}k`,
          '-maxrate', `${r.maxrateKbps}k`,
          '-bufsize', `${r.bufsizeKbits}k`,
          // Closed GOPs at a fixed interval, identical in every rendition.
          '-g', String(gop),
          '-keyint_min', String(gop),
          '-sc_threshold', '0',
          '-flags', '+cgop',
          '-force_key_frames', `expr:gte(t,n_forced*${ladder.keyframeIntervalSec})`,
          '-f', 'mp4',
          '-movflags', `+frag_keyframe${CMAF_MOVFLAGS}`,
        ],
      });
    });
  }
  if (plan.audio) {
    const a = plan.audio;
    outputs.push({
      id: a.id,
      kind: 'audio',
      path: `${outDir}/${a.id}.mp4`,
      options: [
        '-map', '0:a:0',
        '-map_metadata', '-1',
        '-map_chapters', '-1',
        '-c:a', 'aac',
        '-b:a', `${a.bitrateKbps}k`,
        '-ac', String(a.channels),
        '-ar', String(a.sampleRate),
        ...(a.language ? ['-metadata:s:a:0', `language=${a.language}`] : []),
        '-f', 'mp4',
        '-frag_duration', String(AUDIO_CHUNK_US),
        '-movflags', CMAF_MOVFLAGS,
      ],
    });
  }
  return { input, inputOptions, filterGraph, outputs };
}

/** The same encode as one argv, for plain ffmpeg (benchmarks, logs, reproducing a job by hand). */
export function encodeArgv(args: EncodeArgs): string[] {
  return [
    ...args.inputOptions,
    '-i', args.input,
    '-y',
    ...(args.filterGraph ? ['-filter_complex', args.filterGraph] : []),
    ...args.outputs.flatMap((o) => [...o.options, o.path]),
  ];
}
