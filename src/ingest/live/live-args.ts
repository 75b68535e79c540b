/**
 * ffmpeg arguments for one live encoder session (pure, so they are unit-tested).
 * Every rendition goes to its own pipe (fd 3, 4, ...) as fragmented CMAF with one
 * chunk per frame (`frag_every_frame`): the packager groups chunks into parts, so
 * the part and segment cuts are ours, not the muxer's (ISO/IEC 23000-19 §7.3.2.2
 * chunks; RFC 8216bis parts).
 */
import type { LiveLadder } from './live-ladder.js';
import { AUDIO_RENDITION_ID } from './live-ladder.js';

export type LiveInput =
  /** FLV on stdin (our RTMP server hands the publisher's tags over). */
  | { kind: 'flv'; hasAudio: boolean; audioIsAac: boolean }
  /** ffmpeg itself listens for one SRT caller (libsrt enforces the passphrase). */
  | { kind: 'srt'; port: number; host: string; passphrase: string; latencyMs: number; streamId?: string };

export interface LiveOutput { renditionId: string; kind: 'video' | 'audio'; fd: number; bandwidth: number }

const CMAF_FLAGS = '+frag_every_frame+empty_moov+default_base_moof+cmaf';

export function srtListenerUrl(i: Extract<LiveInput, { kind: 'srt' }>): string {
  const q = new URLSearchParams({
    mode: 'listener',
    latency: String(i.latencyMs * 1000),
    passphrase: i.passphrase,
    pbkeylen: '16',
    // Wait for a caller as long as it takes; the channel service stops us when needed.
    listen_timeout: '-1',
    // A caller that goes quiet for 5 s has left: end the session.
    timeout: '5000000',
  });
  if (i.streamId) q.set('streamid', i.streamId);
  return `srt://${i.host}:${i.port}?${q.toString()}`;
}

export function liveEncoderArgs(ladder: LiveLadder, input: LiveInput, segmentSec: number): { args: string[]; outputs: LiveOutput[] } {
  const args = ['-hide_banner', '-nostats', '-loglevel', 'warning'];
  if (input.kind === 'flv') {
    // The FLV header, metadata and both sequence headers come first (the RTMP sink holds media
    // until it has seen them), so no probing is needed. Probing delays the packets it reads, and
    // ffmpeg never catches up on the audio: 1.5 s of analyzeduration kept audio 1.5 s late.
    // No `-fflags nobuffer`: with stream copy it made ffmpeg drop the video up to the second
    // keyframe (2 s late, and out of sync with the audio).
    args.push('-probesize', '64k', '-analyzeduration', '0', '-f', 'flv', '-i', 'pipe:0');
  } else {
    args.push('-fflags', '+nobuffer', '-probesize', '256k', '-analyzeduration', '500000', '-f', 'mpegts', '-i', srtListenerUrl(input));
  }
  const outputs: LiveOutput[] = [];
  const fmp4 = (fd: number): string[] => ['-f', 'mp4', '-movflags', CMAF_FLAGS, '-flush_packets', '1', `pipe:${fd}`];
  let fd = 3;
  if (ladder.passthrough) {
    args.push('-map', '0:v:0', '-c:v', 'copy', ...fmp4(fd));
    outputs.push({ renditionId: ladder.video[0].id, kind: 'video', fd: fd++, bandwidth: 0 });
  } else {
    const n = ladder.video.length;
    const graph = n === 1 ? '[0:v:0]' + scale(ladder.video[0].height) + '[v0]' : `[0:v:0]split=${n}${ladder.video.map((_, i) => `[s${i}]`).join('')};${ladder.video.map((r, i) => `[s${i}]${scale(r.height)}[v${i}]`).join(';')}`;
    args.push('-filter_complex', graph);
    ladder.video.forEach((r, i) => {
      args.push(
        '-map', `[v${i}]`,
        '-c:v', 'libx264', '-preset', ladder.x264Preset, '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
        '-b:v', `${r.bitrateKbps}k`, '-maxrate', `${r.bitrateKbps}k`, '-bufsize', `${r.bitrateKbps}k`,
        // Keyframes exactly on the segment grid in every rendition (aligned switching points).
        '-force_key_frames', `expr:gte(t,n_forced*${segmentSec})`, '-sc_threshold', '0', '-x264-params', 'keyint=600:min-keyint=1',
        ...fmp4(fd),
      );
      outputs.push({ renditionId: r.id, kind: 'video', fd: fd++, bandwidth: Math.round(r.bitrateKbps * 1000 * 1.1) });
    });
  }
  const copyAudio = ladder.passthrough && (input.kind === 'srt' || (input.kind === 'flv' && input.audioIsAac));
  const hasAudio = input.kind === 'srt' || input.hasAudio;
  if (hasAudio) {
    args.push('-map', '0:a:0');
    if (copyAudio) args.push('-c:a', 'copy', ...(input.kind === 'srt' ? ['-bsf:a', 'aac_adtstoasc'] : []));
    else args.push('-c:a', 'aac', '-b:a', `${ladder.audio.bitrateKbps}k`, '-ac', '2', '-ar', '48000');
    args.push(...fmp4(fd));
    outputs.push({ renditionId: AUDIO_RENDITION_ID, kind: 'audio', fd: fd++, bandwidth: ladder.audio.bitrateKbps * 1000 });
  }
  return { args, outputs };
}

function scale(height: number): string {
  // Even width keeping the display aspect; square pixels out.
  return `scale=-2:${height}:flags=bicubic,setsar=1`;
}
