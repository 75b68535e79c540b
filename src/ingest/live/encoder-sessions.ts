/**
 * Encoder sessions of live channels: an RTMP publisher's tags into ffmpeg's stdin (probe, clock
 * repair), the SRT listener ffmpeg, the supervised encoder itself (watchdog, exit reasons without
 * secrets), its CMAF pipes into the channel's timeline, and who holds the channel (one publisher,
 * takeover). The channel registry, definitions and persistence stay in channel-service.ts; this
 * file reaches them only through `SessionHost`.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { CascadeError, ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Supervisor } from '../../shared/supervisor.js';
import { CmafStreamReader } from '../../packager/index.js';
import { liveEncoderArgs, type LiveInput, type LiveOutput } from './live-args.js';
import { flvHeader, flvTag } from './flv.js';
import { FlvClock } from './flv-clock.js';
import { FlvProbe } from './flv-probe.js';
import type { PublishControl, PublishRequest } from './rtmp-server.js';
import type { Channel, Session } from './channel.js';

/** What the sessions need from the channel service. */
export interface SessionHost {
  readonly cfg: { ffmpegPath: string; srtHost: string; srtLatencyMs: number };
  readonly supervisor: Supervisor;
  readonly log: Logger;
  now(): number;
  /** The service is shutting down: exits are not failures, nothing restarts. */
  closing(): boolean;
  /** The channel is still the registered one (not removed or replaced). */
  isCurrent(c: Channel): boolean;
  fail(c: Channel, code: ErrorCode, message: string): CascadeError;
  background(p: Promise<unknown>, channel: string, failure: string): void;
  saveState(c: Channel): Promise<void>;
  /** A new session number, stored before any encoder uses it. */
  allocateSession(c: Channel): Promise<number>;
  /** Stores the init segment a rendition's encoder just wrote for the current session. */
  putInit(c: Channel, renditionId: string, data: Buffer): Promise<void>;
}

/** An encoder that produces nothing for this long while a publisher is on is killed. */
const ENCODER_STALL_MS = 10_000;
const MAX_STDIN_BACKLOG = 32 * 1024 * 1024;

export type RtmpSink = { tag: (type: 8 | 9 | 18, ts: number, p: Buffer) => void; end: (reason: string) => void };

export class EncoderSessions {
  private sessionSeq = 0;

  constructor(private readonly host: SessionHost) {}

  // ---- RTMP --------------------------------------------------------------------------------------

  /** The sink of an authorized RTMP publisher: its tags go to a new encoder session. */
  rtmpSink(c: Channel, req: PublishRequest, control: PublishControl): RtmpSink {
    const session: Session = {
      id: ++this.sessionSeq,
      no: 0,
      protocol: 'rtmp',
      input: { protocol: 'rtmp', remote: req.remote, since: new Date(this.host.now()).toISOString() },
      stop: (reason) => control.close(reason),
      began: false,
      lastOutputAt: this.host.now(),
      samples: [],
    };
    c.session = session;
    const probe = new FlvProbe();
    const clock = new FlvClock();
    let tagCount = 0;
    let stdin: Writable | undefined;
    let ended = false;
    let starting = false;
    const refuse = (reason: string, code: ErrorCode): void => {
      ended = true;
      control.close(reason);
      this.host.fail(c, code, reason);
    };
    const start = (input: LiveInput): void => {
      starting = true;
      // Tags keep collecting in the probe until the session number is stored and ffmpeg runs.
      void this.host.allocateSession(c).then(
        (no) => {
          if (ended || c.session !== session) return;
          session.no = no;
          const child = this.spawnEncoder(c, session, input);
          if (!child) return;
          stdin = child.stdin!;
          stdin.on('error', () => undefined);
          stdin.write(flvHeader(true, true));
          for (const [t, ts, p] of probe.tags) stdin.write(flvTag(t, ts, p));
          probe.tags.length = 0;
          if (ended) stdin.end();
        },
        (err) => refuse(`the channel state could not be stored: ${(err as Error).message}`, 'LIVE_ENCODER_FAILED'),
      );
    };
    return {
      tag: (type, publisherTs, payload) => {
        if (ended) return;
        const { ts, jump } = clock.map(type, publisherTs);
        if (jump) {
          session.input.timestampJumps = clock.jumps;
          this.host.log.warn({ channel: c.id, fromMs: jump.fromMs, toMs: jump.atMs, jumpMs: jump.deltaMs }, 'publisher timestamp jump taken out (media stays continuous)');
        }
        session.samples.push([this.host.now(), payload.length + 11, type === 9 ? 1 : 0]);
        if (++tagCount === 150) session.input.sourceClockMs = this.host.now() - ts;
        if (session.samples.length > 2000) session.samples.splice(0, 1000);
        if (stdin) {
          if (stdin.writableLength > MAX_STDIN_BACKLOG) return refuse('the encoder fell behind the publisher by more than 32 MiB and was stopped', 'LIVE_ENCODER_FAILED');
          stdin.write(flvTag(type, ts, payload));
          return;
        }
        if (starting) {
          probe.tags.push([type, ts, payload]);
          if (probe.tags.length > 20_000) refuse('the channel state is not being stored in time', 'LIVE_ENCODER_FAILED');
          return;
        }
        const d = probe.push(type, ts, payload);
        if (d.kind === 'refuse') refuse(d.reason, 'LIVE_INPUT_UNSUPPORTED');
        else if (d.kind === 'start') {
          Object.assign(session.input, { videoCodec: d.videoCodec, audioCodec: d.audioCodec });
          start(d.input);
        }
      },
      end: (reason) => {
        ended = true;
        this.host.log.info({ channel: c.id, reason }, 'rtmp publisher left');
        if (stdin) stdin.end();
        else this.endSession(c, session);
      },
    };
  }

  // ---- SRT ---------------------------------------------------------------------------------------

  /** Our own stop of the idle listener: its exit is not a failure. */
  stopSrtListener(c: Channel): void {
    if (!c.srtListener) return;
    c.srtListener.session.stopped = true;
    c.srtListener.child.kill('SIGKILL');
  }

  startSrtListener(c: Channel): void {
    if (this.host.closing() || c.def.stopped || c.isRemoved || c.session || c.srtListener || c.srtStarting || !this.host.isCurrent(c)) return;
    c.srtStarting = true;
    this.host.allocateSession(c).then(
      (no) => {
        c.srtStarting = false;
        if (this.host.closing() || c.def.stopped || c.isRemoved || c.session || c.srtListener || !this.host.isCurrent(c)) return;
        this.spawnSrtListener(c, no);
      },
      (err) => {
        c.srtStarting = false;
        this.host.log.error({ channel: c.id, err }, 'SRT listener not started: the channel state could not be stored');
      },
    );
  }

  private spawnSrtListener(c: Channel, no: number): void {
    const session: Session = {
      id: ++this.sessionSeq,
      no,
      protocol: 'srt',
      input: { protocol: 'srt', since: '' },
      stop: (reason) => {
        this.host.log.info({ channel: c.id, reason }, 'srt session stopped');
        session.stopped = true;
        child?.kill('SIGKILL');
      },
      began: false,
      lastOutputAt: this.host.now(),
      samples: [],
    };
    const input: LiveInput = { kind: 'srt', host: this.host.cfg.srtHost, port: c.def.srtPort, passphrase: c.def.srtPassphrase, latencyMs: this.host.cfg.srtLatencyMs };
    const child = this.spawnEncoder(c, session, input);
    if (child) c.srtListener = { child, session };
  }

  // ---- encoder sessions ------------------------------------------------------------------------

  /** Starts ffmpeg for a session and wires its CMAF pipes into the timeline. */
  private spawnEncoder(c: Channel, session: Session, input: LiveInput): ChildProcess | undefined {
    const { args, outputs } = liveEncoderArgs(c.ladder, input, c.def.segmentSec);
    const stdio: Array<'pipe' | 'ignore'> = [input.kind === 'flv' ? 'pipe' : 'ignore', 'ignore', 'pipe', ...outputs.map(() => 'pipe' as const)];
    let child: ChildProcess;
    try {
      child = this.host.supervisor.spawn(`live:${c.id}:${input.kind}`, this.host.cfg.ffmpegPath, args, stdio);
    } catch (err) {
      this.host.fail(c, 'LIVE_ENCODER_FAILED', `ffmpeg could not start: ${(err as Error).message}`);
      session.stop('encoder failed');
      return undefined;
    }
    session.encoder = child;
    let stderr = '';
    (child.stderr as Readable).setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    for (const o of outputs) this.readOutput(c, session, child, o);
    const watchdog = setInterval(() => {
      if (session.began && this.host.now() - session.lastOutputAt > ENCODER_STALL_MS) {
        this.host.fail(c, 'LIVE_ENCODER_FAILED', `the encoder produced nothing for ${ENCODER_STALL_MS / 1000} s and was restarted`);
        session.stopped = true;
        child.kill('SIGKILL');
      }
    }, 1000);
    watchdog.unref();
    child.once('close', (code, signal) => {
      clearInterval(watchdog);
      if (c.srtListener?.child === child) c.srtListener = undefined;
      // Exit 0 (input ended) or a stop we asked for is not a failure; anything else is, including a
      // kill by someone else.
      const clean = code === 0 || session.stopped === true;
      if (!clean && !this.host.closing()) {
        // Say why in the channel, without secrets (the SRT URL with its passphrase is never logged).
        const reason = stderr.replace(/passphrase=[^&\s]+/g, 'passphrase=***').trim().split('\n').slice(-3).join(' | ');
        this.host.fail(c, 'LIVE_ENCODER_FAILED', `ffmpeg exited with ${code ?? signal}${reason ? `: ${reason}` : ''}`);
      }
      this.endSession(c, session);
    });
    return child;
  }

  private readOutput(c: Channel, session: Session, child: ChildProcess, o: LiveOutput): void {
    const reader = new CmafStreamReader();
    const stream = child.stdio[o.fd] as Readable;
    stream.on('error', () => undefined);
    stream.on('data', (d: Buffer) => {
      if (session.stopped) return;
      try {
        const units = reader.push(d);
        if (units.length === 0) return;
        if (!session.began && !this.beginSession(c, session)) return;
        session.lastOutputAt = this.host.now();
        for (const u of units) {
          if (u.kind === 'header') this.host.background(this.host.putInit(c, o.renditionId, u.data), c.id, 'init segment could not be stored');
          c.timeline.push(o.renditionId, u, this.host.now());
          if (session.protocol === 'srt' && u.kind === 'chunk' && o.kind === 'video') session.samples.push([this.host.now(), u.data.length, 1]);
          else if (session.protocol === 'srt' && u.kind === 'chunk') session.samples.push([this.host.now(), u.data.length, 0]);
        }
        if (session.samples.length > 4000) session.samples.splice(0, 2000);
      } catch (err) {
        this.host.fail(c, 'LIVE_ENCODER_FAILED', `the encoder's CMAF output for ${o.renditionId} could not be read: ${(err as Error).message}`);
        session.stopped = true;
        child.kill('SIGKILL');
      }
    });
  }

  /** First media of a session: it becomes the channel's session unless another publisher holds it. */
  private beginSession(c: Channel, session: Session): boolean {
    if (c.def.stopped || c.isRemoved) {
      session.stop('channel stopped');
      session.stopped = true;
      return false;
    }
    if (c.session && c.session !== session) {
      if (!c.def.allowTakeover) {
        this.host.fail(c, 'CHANNEL_BUSY', `${session.protocol.toUpperCase()} publisher refused: the channel already has a publisher (${c.session.protocol})`);
        session.stop('channel busy');
        session.stopped = true;
        return false;
      }
      c.session.stop('taken over by a new publisher');
    }
    if (c.srtListener?.session === session) c.srtListener = undefined;
    c.session = session;
    session.began = true;
    session.input.since = new Date(this.host.now()).toISOString();
    // A listener's number may be older than a session begun since: take a fresh one then.
    if (session.no <= c.timeline.session) session.no = c.allocatedSession = Math.max(c.allocatedSession, c.timeline.session) + 1;
    c.timeline.beginSession(session.no);
    c.lastError = undefined;
    this.host.background(this.host.saveState(c), c.id, 'channel state could not be stored');
    this.host.log.info({ channel: c.id, protocol: session.protocol, session: c.timeline.session }, 'live session started');
    c.notify();
    return true;
  }

  private endSession(c: Channel, session: Session): void {
    session.stopped = true;
    if (c.session === session) {
      c.session = undefined;
      if (session.began) {
        c.timeline.endSession();
        this.host.background(this.host.saveState(c), c.id, 'channel state could not be stored');
        this.host.log.info({ channel: c.id, protocol: session.protocol }, 'live session ended');
      }
    }
    if (session.protocol === 'rtmp') session.stop('encoder exited');
    // Ready for the next publisher.
    if (!this.host.closing() && !c.def.stopped && !c.isRemoved) setTimeout(() => this.startSrtListener(c), 500).unref();
  }
}
