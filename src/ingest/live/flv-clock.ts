/**
 * Publisher clock repair for RTMP input (pure: tags' timestamps in, continuous timestamps out).
 *
 * An RTMP timestamp (FLV tag time, the decode time in ms) is the publisher's clock. Encoders
 * restarted without reconnecting, splicers and 32-bit wraps make it jump. ffmpeg's FLV demuxer
 * does not correct that (FLV is not a format with timestamp discontinuities for it): a forward
 * jump becomes a single frame lasting the whole jump (or, when transcoding at a constant frame
 * rate, a burst of duplicated frames that pushes the channel clock ahead of the wall clock), and a
 * backward jump becomes non-monotonic decode times that ffmpeg "fixes" one tick at a time.
 *
 * So the jump is taken out before ffmpeg sees it: one offset shared by audio and video (they
 * stay in sync) is re-based at the first tag that is more than `forwardMs` ahead of the newest
 * media or more than `backwardMs` behind its own stream, so that tag follows the newest media by
 * one frame interval. Media stays continuous for players (no discontinuity is needed: the
 * coded stream itself is continuous, only its clock jumped).
 */
export interface ClockJump { atMs: number; fromMs: number; deltaMs: number }

const AUDIO = 8;
const VIDEO = 9;

export class FlvClock {
  private offset = 0;
  private readonly last = new Map<number, number>();
  private readonly gap = new Map<number, number>();
  private newest = -Infinity;
  jumps = 0;

  constructor(private readonly opts: { forwardMs: number; backwardMs: number } = { forwardMs: 2000, backwardMs: 100 }) {}

  /** The timestamp to hand to ffmpeg for a tag the publisher stamped `ts`, and the jump if it was one. */
  map(type: number, ts: number): { ts: number; jump?: ClockJump } {
    // Script data (onMetaData) carries whatever time the publisher put there: it follows the media.
    if (type !== AUDIO && type !== VIDEO) return { ts: Math.max(0, this.newest) };
    let out = ts + this.offset;
    let jump: ClockJump | undefined;
    const prev = this.last.get(type);
    if (this.newest !== -Infinity && (out > this.newest + this.opts.forwardMs || (prev !== undefined && out < prev - this.opts.backwardMs))) {
      const step = this.gap.get(type) ?? (type === VIDEO ? 33 : 21);
      const fixed = Math.round(this.newest + step);
      jump = { atMs: fixed, fromMs: out, deltaMs: out - fixed };
      this.offset += fixed - out;
      out = fixed;
      this.jumps++;
    }
    // A few ms of publisher jitter backwards is left as it is (ffmpeg handles it as before).
    if (prev !== undefined && out > prev) this.gap.set(type, Math.min(100, out - prev));
    this.last.set(type, out);
    this.newest = Math.max(this.newest, out);
    return { ts: out, jump };
  }
}
