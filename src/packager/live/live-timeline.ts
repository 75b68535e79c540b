/**
 * Cuts parts and segments from the CMAF chunks of a live channel (pure: no I/O,
 * the wall clock is passed in).
 *
 * - The leader (first video rendition) decides segment boundaries: a new segment
 *   starts at an independent chunk once the open one reached the segment target,
 *   or, failing a keyframe, before the open one would round above TARGETDURATION
 *   (RFC 8216bis §4.4.3.1). Every other rendition cuts at the first of its chunks
 *   at or after the leader's boundary time, so segment N covers the same media in
 *   every rendition ("in step"). A follower chunk is held until the leader has
 *   passed its time, so that no boundary is decided after the fact.
 * - Parts group whole chunks; a part closes as soon as one more chunk of the same
 *   duration would exceed PART-TARGET (§4.4.4.9: DURATION ≤ PART-TARGET), so it is
 *   published without waiting for the next chunk.
 * - Every encoder session is moved onto the channel clock (seconds since the
 *   channel epoch) by rewriting tfdt, so media time, EXT-X-PROGRAM-DATE-TIME and
 *   DASH availability all derive from one clock and never go backwards.
 */
import { parseInitSegment, type InitInfo } from '../bmff/init-segment.js';
import { parseFragment } from '../bmff/fragment.js';
import { shiftDecodeTime } from './tfdt.js';
import type { CmafUnit } from './cmaf-stream.js';
import { segmentEndSec, type LiveRendition, type LiveSegment } from './model.js';

export interface LiveTimelineConfig {
  segmentTargetSec: number;
  partTargetSec: number;
  /** DVR window: segments older than this behind the live edge leave the playlist. */
  windowSec: number;
  /** Channel epoch (ms since 1970): media time 0, DASH availabilityStartTime. */
  epochMs: number;
}

export interface LiveTimelineEvents {
  /** Something a playlist shows changed (a part, a segment, a session, the end). */
  changed(): void;
  /** The leader opened segment `msn` (the channel persists its numbering here). */
  segmentOpened?(msn: number): void;
  segmentComplete?(rendition: LiveRendition, seg: LiveSegment): void;
  evicted?(rendition: LiveRendition, seg: LiveSegment): void;
}

export interface RenditionSpec { id: string; kind: 'video' | 'audio'; bandwidth: number }

interface Boundary { msn: number; timeSec: number }
interface Pending { chunk: Buffer; moofOffset: number; moofSize: number }
interface Cutter {
  r: LiveRendition;
  info?: InitInfo;
  /** Ticks added to every tfdt of this session. */
  shift?: number;
  open?: LiveSegment;
  openPartTicks: number;
  /** Index into the session's boundaries of the open segment (followers). */
  boundaryIndex: number;
  /** Index into the session's leader part starts of the open part (followers). */
  partIndex: number;
  queue: Array<Pending & { t: number; d: number; independent: boolean }>;
  endSec: number;
}

const EPS = 1e-6;
/** One AAC frame at 44.1 kHz (1024 / 44100 s, rounded up): the most an audio part can exceed the video grid. */
const PART_SLACK_SEC = 0.024;

export class LiveTimeline {
  readonly renditions: LiveRendition[];
  /** Next media sequence number (never reused: persisted by the channel service). */
  nextMsn: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE: discontinuities that left the window (§4.4.3.3). */
  discontinuitySequence = 0;
  session = 0;
  ended = false;
  /** Bumped on every visible change; waiters compare against it. */
  version = 0;
  /** Start (channel seconds) and first msn of every session still in the window. */
  sessions: Array<{ no: number; startSec: number; firstMsn: number }> = [];
  private cutters = new Map<string, Cutter>();
  private leader: Cutter;
  private boundaries: Boundary[] = [];
  /** Start times (s) of the leader's parts in this session: followers cut their parts there. */
  private partStarts: number[] = [];
  private sessionBaseSec?: number;
  private anchorSec = 0;
  private sessionOpen = false;
  /** Arrival time of the unit being pushed (stamps parts as they complete). */
  private nowMs = 0;

  constructor(
    readonly config: LiveTimelineConfig,
    specs: RenditionSpec[],
    private readonly events: LiveTimelineEvents,
    start: { nextMsn: number; session: number; discontinuitySequence?: number } = { nextMsn: 0, session: 0 },
  ) {
    if (specs.length === 0) throw new Error('a live timeline needs at least one rendition');
    this.renditions = specs.map((s) => ({ id: s.id, kind: s.kind, nominalBandwidth: s.bandwidth, inits: new Map(), segments: [] }));
    for (const r of this.renditions) this.cutters.set(r.id, { r, openPartTicks: 0, boundaryIndex: -1, partIndex: -1, queue: [], endSec: 0 });
    const lead = this.renditions.find((r) => r.kind === 'video') ?? this.renditions[0];
    this.leader = this.cutters.get(lead.id)!;
    this.nextMsn = start.nextMsn;
    this.session = start.session;
    this.discontinuitySequence = start.discontinuitySequence ?? 0;
  }

  /**
   * PART-TARGET as declared (§4.4.3.7). Video parts are cut at the configured part duration;
   * audio parts follow the video part grid, so one audio part may hold one more frame than
   * fits the nominal duration (24 × 21.3 ms AAC frames = 0.512 s against 0.5 s). The declared
   * target leaves one AAC frame for that, so every part is ≤ PART-TARGET (§4.4.4.9 MUST) and
   * the parts stay above 85 % of it.
   */
  get partTarget(): number {
    return Math.round((this.config.partTargetSec + PART_SLACK_SEC) * 1000) / 1000;
  }

  /** EXT-X-TARGETDURATION: fixed for the life of the channel (§6.2.1: it MUST NOT change). */
  get targetDuration(): number {
    return Math.max(1, Math.ceil(this.config.segmentTargetSec - EPS));
  }

  rendition(id: string): LiveRendition | undefined {
    return this.renditions.find((r) => r.id === id);
  }

  get leaderRendition(): LiveRendition {
    return this.leader.r;
  }

  /** End time (channel seconds) of the newest media of the leader. */
  get liveEdgeSec(): number {
    return this.leader.endSec;
  }

  /**
   * Puts back the window a previous process persisted (segments without bytes: they
   * are in the object store). The next session starts after it with a discontinuity.
   */
  restore(saved: {
    sessions: Array<{ no: number; startSec: number; firstMsn: number }>;
    ended: boolean;
    renditions: Array<{ id: string; info?: InitInfo; segments: Array<Omit<LiveSegment, 'chunks' | 'parts' | 'complete' | 'stored'>> }>;
  }): void {
    this.sessions = saved.sessions.slice();
    this.ended = saved.ended;
    for (const s of saved.renditions) {
      const c = this.cutters.get(s.id);
      if (!c) continue;
      c.r.info = s.info;
      c.r.segments = s.segments.map((x) => ({ ...x, chunks: [], parts: [], complete: true, stored: true }));
    }
    // Segments the previous process opened but never completed: EXT-X-GAP placeholders of one
    // segment target each, so numbering stays contiguous and no number gets other bytes.
    for (const r of this.renditions) {
      let last = r.segments.at(-1);
      if (!last) continue;
      for (let msn = last.msn + 1; msn < this.nextMsn; msn++) {
        const d = Math.round(this.config.segmentTargetSec * last.timescale);
        last = { msn, session: last.session, discontinuity: false, time: last.time + last.duration, duration: d, timescale: last.timescale, independent: true, chunks: [], parts: [], bytes: 0, complete: true, stored: true, gap: true };
        r.segments.push(last);
      }
    }
    for (const c of this.cutters.values()) {
      const last = c.r.segments.at(-1);
      if (last) c.endSec = segmentEndSec(last);
    }
    this.version++;
  }

  /**
   * Starts an encoder session; its media continues the channel clock. `no` is a session number
   * the caller already persisted (default: the next one).
   */
  beginSession(no = this.session + 1): number {
    if (this.sessionOpen) this.endSession();
    if (no <= this.session) throw new Error(`session ${no} is not after ${this.session}`);
    this.session = no;
    this.sessionOpen = true;
    this.ended = false;
    this.boundaries = [];
    this.partStarts = [];
    this.sessionBaseSec = undefined;
    for (const c of this.cutters.values()) {
      c.info = undefined;
      c.shift = undefined;
      c.boundaryIndex = -1;
      c.partIndex = -1;
      c.queue = [];
    }
    return this.session;
  }

  /** Feeds one unit of one rendition's CMAF stream. `nowMs` is the arrival time. */
  push(renditionId: string, unit: CmafUnit, nowMs: number): void {
    const c = this.cutters.get(renditionId);
    if (!c) throw new Error(`unknown rendition ${renditionId}`);
    if (!this.sessionOpen) throw new Error('no open session');
    this.nowMs = nowMs;
    if (unit.kind === 'header') {
      const info = parseInitSegment(unit.data);
      if (info.kind !== c.r.kind) throw new Error(`rendition ${c.r.id} expects ${c.r.kind} but the encoder sent ${info.kind}`);
      c.info = info;
      c.r.info = info;
      c.r.inits.set(this.session, unit.data);
      return;
    }
    if (!c.info) throw new Error(`chunk before the header on rendition ${c.r.id}`);
    const frag = parseFragment(unit.data.subarray(unit.moofOffset, unit.moofOffset + unit.moofSize), c.info.defaults);
    const ts = c.info.timescale;
    if (this.sessionBaseSec === undefined) {
      // First media of the session: place it at the wall clock (its arrival, less its own duration),
      // never before the end of what the channel already has.
      this.sessionBaseSec = frag.decodeTime / ts;
      const wallSec = (nowMs - this.config.epochMs) / 1000 - frag.duration / ts;
      const previousEnd = Math.max(0, ...[...this.cutters.values()].map((x) => x.endSec));
      this.anchorSec = Math.max(wallSec, previousEnd);
    }
    c.shift ??= Math.round((this.anchorSec - this.sessionBaseSec) * ts);
    shiftDecodeTime(unit.data, unit.moofOffset, unit.moofSize, c.shift);
    const item = { chunk: unit.data, moofOffset: unit.moofOffset, moofSize: unit.moofSize, t: frag.decodeTime + c.shift, d: frag.duration, independent: frag.independent };
    if (c === this.leader) {
      this.leaderChunk(item);
      for (const f of this.cutters.values()) if (f !== this.leader) this.drain(f, false);
    } else {
      c.queue.push(item);
      this.drain(c, false);
    }
    this.version++;
    this.events.changed();
  }

  /** The encoder stopped (publisher left or ffmpeg exited): close everything open. */
  endSession(): void {
    if (!this.sessionOpen) return;
    for (const c of this.cutters.values()) if (c !== this.leader) this.drain(c, true);
    for (const c of this.cutters.values()) this.closeSegment(c);
    this.sessionOpen = false;
    this.version++;
    this.events.changed();
  }

  /** The channel stopped: the presentation ends (EXT-X-ENDLIST, static MPD). */
  end(): void {
    this.endSession();
    this.ended = true;
    this.version++;
    this.events.changed();
  }

  private leaderChunk(item: Pending & { t: number; d: number; independent: boolean }): void {
    const c = this.leader;
    const ts = c.info!.timescale;
    const open = c.open;
    const openSec = open ? open.duration / ts : 0;
    // Rounded EXTINF must stay ≤ TARGETDURATION (§4.4.3.1): cut before reaching TD + 0.5.
    const hardLimit = this.targetDuration + 0.5 - EPS;
    // A keyframe within half a frame of the target starts the next segment: publishers' keyframe
    // grids drift by a millisecond against ms timestamps (FLV), and waiting for the next one would
    // double the segment.
    const cut = !open || (item.independent && openSec + item.d / ts / 2 >= this.config.segmentTargetSec) || openSec + item.d / ts > hardLimit;
    if (cut) {
      this.closeSegment(c);
      const b = { msn: this.nextMsn++, timeSec: item.t / ts };
      this.boundaries.push(b);
      this.openSegment(c, b.msn, item.t, item.independent);
      this.events.segmentOpened?.(b.msn);
    }
    this.append(c, item);
    c.endSec = (item.t + item.d) / ts;
  }

  /** Moves held follower chunks into segments once the leader has passed their time. */
  private drain(c: Cutter, flush: boolean): void {
    if (!c.info) return;
    const ts = c.info.timescale;
    while (c.queue.length > 0) {
      const item = c.queue[0];
      const startSec = item.t / ts;
      const tol = item.d / ts / 2;
      // A boundary at or before this chunk's midpoint may still come from the leader.
      if (!flush && startSec + tol >= this.leader.endSec - EPS) break;
      if (this.boundaries.length === 0) {
        c.queue.shift(); // no leader media at all in this session: nothing to attach to
        continue;
      }
      c.queue.shift();
      if (c.boundaryIndex < 0) {
        c.boundaryIndex = 0;
        this.openSegment(c, this.boundaries[0].msn, item.t, item.independent);
      }
      while (c.boundaryIndex + 1 < this.boundaries.length && this.boundaries[c.boundaryIndex + 1].timeSec <= startSec + tol) {
        c.boundaryIndex++;
        this.closeSegment(c);
        this.openSegment(c, this.boundaries[c.boundaryIndex].msn, item.t, item.independent);
      }
      this.append(c, item);
      c.endSec = (item.t + item.d) / ts;
    }
  }

  private openSegment(c: Cutter, msn: number, time: number, independent: boolean): void {
    const first = !this.sessions.some((s) => s.no === this.session);
    if (first && c === this.leader) this.sessions.push({ no: this.session, startSec: time / c.info!.timescale, firstMsn: msn });
    // A session that follows media already in the window is a discontinuity (§4.4.4.3).
    const discontinuity = msn === this.sessions.find((s) => s.no === this.session)?.firstMsn && c.r.segments.length > 0;
    c.open = { msn, session: this.session, discontinuity, time, duration: 0, timescale: c.info!.timescale, independent, chunks: [], parts: [], bytes: 0, complete: false };
    c.openPartTicks = 0;
    if (c !== this.leader) {
      // The segment's first part starts at the leader's part at the segment boundary.
      const at = time / c.info!.timescale;
      while (c.partIndex + 1 < this.partStarts.length && this.partStarts[c.partIndex + 1] <= at + 0.05) c.partIndex++;
    }
    c.r.segments.push(c.open);
  }

  private append(c: Cutter, item: Pending & { t: number; d: number; independent: boolean }): void {
    const seg = c.open!;
    const ts = c.info!.timescale;
    const startSec = item.t / ts;
    let fresh = c.openPartTicks === 0;
    if (c === this.leader) {
      if (!fresh && (c.openPartTicks + item.d) / ts > this.partTarget + EPS) fresh = true;
      if (fresh) this.partStarts.push(startSec);
    } else {
      // Followers start a part where the leader started one (parts in step across renditions),
      // and never grow one past the declared PART-TARGET.
      const tol = item.d / ts / 2;
      while (c.partIndex + 1 < this.partStarts.length && this.partStarts[c.partIndex + 1] <= startSec + tol) {
        c.partIndex++;
        fresh = true;
      }
      if (!fresh && (c.openPartTicks + item.d) / ts > this.partTarget + EPS) fresh = true;
    }
    let part = seg.parts.at(-1);
    if (fresh || !part) {
      if (part) part.readyAt ??= this.nowMs;
      c.openPartTicks = 0;
      part = { duration: 0, independent: item.independent, firstChunk: seg.chunks.length, chunkCount: 0, bytes: 0 };
      seg.parts.push(part);
    }
    seg.chunks.push(item.chunk);
    seg.bytes += item.chunk.length;
    seg.duration += item.d;
    part.chunkCount++;
    part.bytes += item.chunk.length;
    c.openPartTicks += item.d;
    part.duration = c.openPartTicks / ts;
    // The leader cuts parts on a grid of the configured part duration from the segment start (29.97 fps
    // gives 15-frame parts of 0.5005 s, not 14-frame parts and a sliver), and closes a part as soon as
    // its end reaches the next grid point, so it is published at once. It also closes one that could
    // not take another chunk of this duration under PART-TARGET. A follower's part closes when the
    // leader's next part has started and the follower has media past that point (drain() only hands
    // over chunks the leader has passed).
    if (c === this.leader) {
      const endSec = (item.t + item.d) / ts;
      const k = seg.parts.length;
      const gridPoint = seg.time / ts + k * this.config.partTargetSec;
      if (endSec + item.d / ts / 2 >= gridPoint || (c.openPartTicks + item.d) / ts > this.partTarget + EPS) {
        c.openPartTicks = 0;
        part.readyAt = this.nowMs;
      }
    }
  }

  /** Index of the part still growing in the open segment, if any. */
  openPartIndex(renditionId: string): number | undefined {
    const c = this.cutters.get(renditionId);
    if (!c?.open || c.openPartTicks === 0) return undefined;
    return c.open.parts.length - 1;
  }

  /** Completed parts of a segment (an open segment's last part may still grow). */
  completeParts(r: LiveRendition, seg: LiveSegment): number {
    if (seg.complete) return seg.parts.length;
    return this.openPartIndex(r.id) !== undefined && this.cutters.get(r.id)!.open === seg ? seg.parts.length - 1 : seg.parts.length;
  }

  private closeSegment(c: Cutter): void {
    const seg = c.open;
    if (!seg) return;
    c.open = undefined;
    c.openPartTicks = 0;
    const last = seg.parts.at(-1);
    if (last) last.readyAt ??= this.nowMs;
    seg.complete = true;
    this.events.segmentComplete?.(c.r, seg);
    if (c === this.leader) this.evict();
  }

  /** Drops segments that left the DVR window, in step across renditions. */
  private evict(): void {
    const lead = this.leader.r;
    const edge = this.leader.endSec;
    let minMsn: number | undefined;
    while (lead.segments.length > 1) {
      const s = lead.segments[0];
      if (!s.complete || edge - segmentEndSec(s) <= this.config.windowSec) break;
      minMsn = lead.segments[1].msn;
      // The removed segment takes its EXT-X-DISCONTINUITY with it (§4.4.3.3).
      if (s.discontinuity) this.discontinuitySequence++;
      this.dropHead(lead);
    }
    if (minMsn === undefined) return;
    for (const r of this.renditions) if (r !== lead) while (r.segments.length > 0 && r.segments[0].msn < minMsn && r.segments[0].complete) this.dropHead(r);
    const firstMsn = lead.segments[0]?.msn ?? minMsn;
    this.sessions = this.sessions.filter((s, i) => i === this.sessions.length - 1 || this.sessions[i + 1].firstMsn > firstMsn);
    for (const r of this.renditions) for (const k of r.inits.keys()) if (!this.sessions.some((s) => s.no === k) && k !== this.session) r.inits.delete(k);
  }

  private dropHead(r: LiveRendition): void {
    const s = r.segments.shift()!;
    this.events.evicted?.(r, s);
  }
}
