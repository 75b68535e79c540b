/**
 * Decides, from the first FLV tags of an RTMP publisher, whether the live encoder can start and
 * with which input (pure: tags in, a decision out). H.264 video and some audio are required;
 * HEVC or enhanced-RTMP video is refused at its first tag, a stream with no video after 3 s of
 * media or no audio 1.5 s after the first video is refused. The tags seen are kept to be
 * replayed to ffmpeg, so nothing of the publisher's start is lost.
 */
import { describeAudioTag, describeVideoTag } from './flv.js';
import type { LiveInput } from './live-args.js';

export type FlvTagType = 8 | 9 | 18;
export type ProbeDecision =
  | { kind: 'wait' }
  | { kind: 'start'; input: Extract<LiveInput, { kind: 'flv' }>; videoCodec: string; audioCodec: string }
  | { kind: 'refuse'; reason: string };

/** Tags held before a decision; a publisher that never decides is refused. */
const MAX_TAGS = 400;

export class FlvProbe {
  readonly tags: Array<[FlvTagType, number, Buffer]> = [];
  private firstTs?: number;
  private firstVideoTs?: number;
  private audio?: { codec: string; aac: boolean };

  push(type: FlvTagType, ts: number, payload: Buffer): ProbeDecision {
    this.tags.push([type, ts, payload]);
    this.firstTs ??= ts;
    if (type === 9 && payload.length > 0) {
      const v = describeVideoTag(payload);
      if (!v.supported) return { kind: 'refuse', reason: `the publisher sends ${v.codec} video; live ingest takes H.264 (AVC) over RTMP` };
      this.firstVideoTs ??= ts;
    }
    if (type === 8 && payload.length > 0) this.audio ??= describeAudioTag(payload);
    const hasVideo = this.firstVideoTs !== undefined;
    if (hasVideo && this.audio) {
      return { kind: 'start', input: { kind: 'flv', hasAudio: true, audioIsAac: this.audio.aac }, videoCodec: 'h264', audioCodec: this.audio.codec };
    }
    const giveUp = this.tags.length >= MAX_TAGS;
    if (!hasVideo && (ts - this.firstTs > 3000 || giveUp)) return { kind: 'refuse', reason: 'the publisher sends no video; Cascade live channels need H.264 video' };
    if (hasVideo && (ts - this.firstVideoTs! > 1500 || giveUp)) return { kind: 'refuse', reason: 'the publisher sends no audio; Cascade live channels need an audio track' };
    return { kind: 'wait' };
  }
}
