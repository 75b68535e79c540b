/**
 * One live channel's state in this process: its definition, timeline, current publisher session,
 * and the notifier that held requests (blocking reloads, preload hints, segments in production)
 * wait on. The channel service owns the I/O; this holds what the origin reads.
 */
import type { ChildProcess } from 'node:child_process';
import type { LiveTimeline } from '../../packager/index.js';
import type { ChannelDefinition } from './channel-store.js';
import type { LiveLadder } from './live-ladder.js';

export interface ChannelInput {
  protocol: 'rtmp' | 'srt';
  remote?: string;
  since: string;
  videoCodec?: string;
  audioCodec?: string;
  /**
   * RTMP: wall time (ms) at which the publisher's timestamp 0 was sent, taken from a tag ~2 s in
   * (after any start-up burst). Lets tools measure publish-to-render latency.
   */
  sourceClockMs?: number;
  /** RTMP: jumps of the publisher's clock taken out before the encoder (see flv-clock.ts). */
  timestampJumps?: number;
}

export interface ChannelArchive {
  status: 'running' | 'done' | 'failed' | 'empty';
  titleId: string;
  version?: string;
  playback?: { hls: string; dash: string };
  error?: string;
}

/** One publisher's run: from the first media to the encoder's exit. */
export interface Session {
  id: number;
  /** Session number (init segment names), allocated and persisted before the encoder starts. */
  no: number;
  protocol: 'rtmp' | 'srt';
  encoder?: ChildProcess;
  input: ChannelInput;
  /** Ends the publisher's connection (RTMP) or the listener process (SRT). */
  stop(reason: string): void;
  began: boolean;
  /** Set once the session ended, was refused or was stopped by us: late output is dropped and its exit is no failure. */
  stopped?: boolean;
  lastOutputAt: number;
  /** (time ms, bytes, video frames) samples over the last seconds. */
  samples: Array<[number, number, number]>;
}

interface Waiter { check: () => boolean; resolve: () => void }

export class Channel {
  session?: Session;
  /** Highest session number handed out (persisted in the state before use). */
  allocatedSession = 0;
  srtStarting = false;
  srtListener?: { child: ChildProcess; session: Session };
  lastError?: { code: string; message: string; at: string };
  archive?: ChannelArchive;
  archiving?: Promise<void>;
  /** Wall time of the last visible change (Last-Modified of live playlists). */
  lastChangedAt = Date.now();
  private waiters = new Set<Waiter>();
  private removed = false;
  private released = false;

  constructor(
    public def: ChannelDefinition,
    public readonly ladder: LiveLadder,
    public readonly timeline: LiveTimeline,
  ) {}

  get id(): string {
    return this.def.id;
  }

  get lowLatency(): boolean {
    return this.def.lowLatency;
  }

  get isRemoved(): boolean {
    return this.removed;
  }

  markRemoved(): void {
    this.removed = true;
    this.notify();
  }

  /** Shutdown: every held request is answered now (503, retry elsewhere) instead of holding the drain. */
  release(): void {
    this.released = true;
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Wakes every waiter whose condition now holds. */
  notify(): void {
    this.lastChangedAt = Date.now();
    for (const w of this.waiters) {
      if (this.removed || w.check()) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /**
   * Resolves true once `check()` holds, false after `timeoutMs` or on abort. Used by
   * blocking playlist reloads, preload hints and segments still in production.
   */
  waitFor(check: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (this.removed || this.released) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(!this.removed && !this.released && check());
        },
      };
      const onAbort = (): void => {
        this.waiters.delete(w);
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        signal?.removeEventListener('abort', onAbort);
        resolve(false);
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(w);
    });
  }

  get waiting(): number {
    return this.waiters.size;
  }
}
