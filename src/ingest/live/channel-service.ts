/**
 * Live channels: the registry and definitions, the RTMP port and who may publish
 * (stream keys), the live timeline of each channel, persistence of segments and
 * numbering, and the archive of a stopped channel. The encoder sessions (RTMP tags
 * into ffmpeg, the SRT listener, ffmpeg's CMAF pipes into the timeline) are in
 * encoder-sessions.ts.
 *
 * One publisher per channel: a second one is refused unless the channel allows
 * takeover. The SRT listener runs only while no RTMP publisher is live, so the two
 * protocols cannot feed one channel at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createError, type CascadeError, type ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Supervisor } from '../../shared/supervisor.js';
import { validateId } from '../../shared/ids.js';
import { findProcesses } from '../../shared/orphans.js';
import type { ObjectStore } from '../../storage/index.js';
import { LiveTimeline, segmentData, type LiveRendition, type LiveSegment, type RenditionSpec } from '../../packager/index.js';
import { ChannelStore, channelKeys, type ChannelDefinition, type ChannelState } from './channel-store.js';
import { liveLadder, type LiveLadder } from './live-ladder.js';
import { liveEncoderArgs } from './live-args.js';
import type { Catalog } from '../../catalog/catalog.js';
import { archiveWindow } from './dvr-archive.js';
import { RtmpServer, type PublishControl, type PublishDecision, type PublishRequest } from './rtmp-server.js';
import { Channel, type ChannelArchive, type ChannelInput } from './channel.js';
import { EncoderSessions } from './encoder-sessions.js';

export { Channel, type ChannelArchive, type ChannelInput } from './channel.js';

export interface LiveServiceConfig {
  ffmpegPath: string;
  rtmpHost: string;
  rtmpPort: number;
  srtHost: string;
  srtPorts: [number, number];
  /** Host name written into ingest URLs. */
  publicHost: string;
  segmentSec: number;
  partSec: number;
  dvrWindowSec: number;
  srtLatencyMs: number;
}

export type ChannelView = Pick<ChannelDefinition, 'id' | 'lowLatency' | 'dvrWindowSec' | 'ladder' | 'segmentSec' | 'partSec' | 'allowTakeover' | 'createdAt'> & {
  state: 'idle' | 'live' | 'stopped';
  ingest: { rtmp: string; rtmpServer: string; streamKey: string; srt: string; srtPassphrase: string; srtStreamId: string };
  playback: { hls: string; dash: string };
  input?: ChannelInput & { bitrateKbps: number; frameRate: number };
  lastError?: { code: string; message: string; at: string };
  /** The DVR window kept as a VOD title when the channel was stopped. */
  archive?: ChannelArchive;
};

export interface ChannelOptions {
  lowLatency?: boolean;
  dvrWindowSec?: number;
  ladder?: string;
  allowTakeover?: boolean;
}


export class ChannelService {
  private readonly channels = new Map<string, Channel>();
  private readonly persist: ChannelStore;
  private rtmp?: RtmpServer;
  private closing = false;
  private readonly sessions: EncoderSessions;
  private rtmpPort = 0;

  constructor(
    private readonly cfg: LiveServiceConfig,
    private readonly store: ObjectStore,
    private readonly supervisor: Supervisor,
    private readonly log: Logger,
    /** Wall clock in ms, sub-millisecond (part arrival stamps; the wake-up bench reads them). */
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
    /** Where a stopped channel's window is published as a VOD title (none: not kept). */
    private readonly catalog?: Catalog,
  ) {
    this.persist = new ChannelStore(store);
    this.sessions = new EncoderSessions({
      cfg,
      supervisor,
      log,
      now,
      closing: () => this.closing,
      isCurrent: (c) => this.channels.get(c.id) === c,
      fail: (c, code, message) => this.fail(c, code, message),
      background: (p, channel, failure) => this.background(p, channel, failure),
      saveState: (c) => this.saveState(c),
      allocateSession: (c) => this.allocateSession(c),
      putInit: (c, renditionId, data) => this.persist.putMedia(channelKeys.init(c.id, renditionId, c.timeline.session), data),
    });
  }

  /** Loads persisted channels and opens the RTMP port. */
  async start(): Promise<void> {
    for (const id of await this.persist.listIds()) {
      try {
        const def = await this.persist.readDefinition(id);
        if (!def) continue;
        const state = await this.persist.readState(id);
        this.install(def, state);
      } catch (err) {
        this.log.error({ channel: id, err }, 'channel could not be restored');
      }
    }
    await this.killOrphanListeners();
    this.rtmp = new RtmpServer({ host: this.cfg.rtmpHost, port: this.cfg.rtmpPort, log: this.log, authorize: (req, control) => this.authorizeRtmp(req, control) });
    this.rtmpPort = await this.rtmp.listen();
    this.log.info({ port: this.rtmpPort }, 'rtmp ingest listening');
    for (const c of this.channels.values()) if (!c.def.stopped) this.sessions.startSrtListener(c);
  }

  /**
   * A server killed without a chance to stop its children leaves SRT listeners holding the
   * channels' UDP ports (an RTMP session's ffmpeg ends by itself when its stdin closes).
   */
  private async killOrphanListeners(): Promise<void> {
    const urls = [...this.channels.values()].map((c) => `srt://${this.cfg.srtHost}:${c.def.srtPort}?`);
    if (urls.length === 0) return;
    const pids = await findProcesses(({ argv }) => /ffmpeg/.test(argv[0]) && argv.some((a) => urls.some((u) => a.startsWith(u) && a.includes('mode=listener'))));
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        this.log.warn({ pid }, 'killed an SRT listener left by an earlier run');
      } catch {
        // already gone
      }
    }
    if (pids.length) await new Promise((r) => setTimeout(r, 200));
  }

  get rtmpListenPort(): number {
    return this.rtmpPort;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.channels.values()) c.release();
    await this.rtmp?.close();
    for (const c of this.channels.values()) {
      this.sessions.stopSrtListener(c);
      // Late output of a stopping encoder is dropped, not pushed into a closed session.
      if (c.session) c.session.stopped = true;
      c.session?.stop('server shutting down');
      c.timeline.endSession();
      this.background(this.saveState(c), c.id, 'channel state could not be stored');
    }
    // Segments closed above are still being stored (and index themselves when they land).
    await Promise.allSettled([...this.channels.values()].map((c) => c.archiving));
    await this.drainWrites();
  }

  get(id: string): Channel | undefined {
    return this.channels.get(id);
  }

  list(): Channel[] {
    return [...this.channels.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Creates a channel, or updates an idle one's options (PUT semantics). A stopped channel is reopened. */
  async put(id: string, opts: ChannelOptions): Promise<{ channel: Channel; created: boolean }> {
    validateId(id, 'channel id');
    const ladder = liveLadder(opts.ladder);
    const dvr = opts.dvrWindowSec ?? this.cfg.dvrWindowSec;
    const minWindow = 6 * Math.ceil(this.cfg.segmentSec);
    if (typeof dvr !== 'number' || !Number.isFinite(dvr) || dvr < minWindow || dvr > 6 * 3600) {
      throw createError('INVALID_REQUEST', `dvrWindowSec must be a number of seconds in [${minWindow}, 21600] (at least six target durations, RFC 8216bis §6.2.2)`);
    }
    if (opts.lowLatency !== undefined && typeof opts.lowLatency !== 'boolean') throw createError('INVALID_REQUEST', 'lowLatency must be true or false');
    if (opts.allowTakeover !== undefined && typeof opts.allowTakeover !== 'boolean') throw createError('INVALID_REQUEST', 'allowTakeover must be true or false');
    const existing = this.channels.get(id);
    if (existing) {
      if (existing.session && opts.ladder !== undefined && ladder.name !== existing.ladder.name) {
        throw createError('CHANNEL_BUSY', `channel ${id} is live: its ladder cannot change until the publisher stops`);
      }
      const def: ChannelDefinition = {
        ...existing.def,
        lowLatency: opts.lowLatency ?? existing.def.lowLatency,
        dvrWindowSec: dvr,
        ladder: ladder.name === existing.ladder.name || opts.ladder === undefined ? existing.def.ladder : ladder.name,
        allowTakeover: opts.allowTakeover ?? existing.def.allowTakeover,
        stopped: false,
      };
      await this.persist.writeDefinition(def);
      if (def.ladder !== existing.def.ladder || existing.def.stopped) {
        // A new ladder (or a reopened channel) is a new timeline that continues the numbering.
        this.sessions.stopSrtListener(existing);
        const state = this.stateOf(existing);
        state.ended = false;
        const c = this.install(def, state);
        this.sessions.startSrtListener(c);
        return { channel: c, created: false };
      }
      existing.def = def;
      (existing.timeline.config as { windowSec: number }).windowSec = dvr;
      return { channel: existing, created: false };
    }
    const nowMs = this.now();
    const def: ChannelDefinition = {
      id,
      lowLatency: opts.lowLatency ?? false,
      dvrWindowSec: dvr,
      ladder: ladder.name,
      segmentSec: this.cfg.segmentSec,
      partSec: this.cfg.partSec,
      allowTakeover: opts.allowTakeover ?? false,
      streamKey: randomBytes(16).toString('hex'),
      srtPassphrase: randomBytes(16).toString('hex'),
      srtPort: this.allocateSrtPort(),
      createdAt: new Date(nowMs).toISOString(),
      epochMs: nowMs,
      stopped: false,
    };
    await this.persist.writeDefinition(def);
    const c = this.install(def, undefined);
    await this.saveState(c);
    this.sessions.startSrtListener(c);
    this.log.info({ channel: id, ladder: def.ladder, lowLatency: def.lowLatency }, 'channel created');
    return { channel: c, created: true };
  }

  /** Ends the presentation: the publisher is dropped, playlists get EXT-X-ENDLIST, the MPD turns static. */
  async stop(id: string): Promise<Channel> {
    const c = this.require(id);
    if (c.def.stopped) return c;
    c.def = { ...c.def, stopped: true };
    await this.persist.writeDefinition(c.def);
    this.sessions.stopSrtListener(c);
    c.srtListener = undefined;
    // Output the encoder still writes after this is dropped, not fed to the ended timeline (it
    // would fail there and leave a false LIVE_ENCODER_FAILED on a channel stopped on purpose).
    if (c.session) c.session.stopped = true;
    c.session?.stop('channel stopped');
    c.timeline.end();
    await this.saveState(c);
    this.log.info({ channel: id }, 'channel stopped');
    this.startArchive(c);
    return c;
  }

  /** Publishes the window of a stopped channel as a VOD title, in the background. */
  private startArchive(c: Channel): void {
    if (!this.catalog) return;
    const catalog = this.catalog;
    c.archive = { status: 'running', titleId: c.id };
    const source = {
      init: (ch: Channel, rid: string, session: number) => this.storedInit(ch, ch.timeline.rendition(rid)!, session),
      segment: (ch: Channel, rid: string, seg: LiveSegment) => this.store.getBuffer(channelKeys.segment(ch.id, rid, seg.msn)),
    };
    c.archiving = archiveWindow(c, catalog, source, new Date(this.now())).then(
      (t) => {
        c.archive = t
          ? { status: 'done', titleId: t.titleId, version: t.version, playback: { hls: `/vod/${t.titleId}/${t.version}/master.m3u8`, dash: `/vod/${t.titleId}/${t.version}/manifest.mpd` } }
          : { status: 'empty', titleId: c.id };
        this.log.info({ channel: c.id, version: t?.version }, 'channel window kept as a VOD title');
      },
      (err) => {
        c.archive = { status: 'failed', titleId: c.id, error: (err as Error).message };
        this.log.error({ channel: c.id, err }, 'channel window could not be kept as a VOD title');
      },
    );
  }

  /** Stops the channel and removes it with its media. */
  async remove(id: string): Promise<void> {
    const c = this.require(id);
    await this.stop(id);
    // The window is read by the archive: remove the media only once it is published.
    await c.archiving;
    c.markRemoved();
    this.channels.delete(id);
    // No write of this channel may land after its objects are deleted.
    await this.drainWrites();
    await this.persist.remove(id);
    this.log.info({ channel: id }, 'channel removed');
  }

  require(id: string): Channel {
    const c = this.channels.get(id);
    if (!c) throw createError('CHANNEL_NOT_FOUND', `no channel ${String(id).slice(0, 128)}`);
    return c;
  }

  view(c: Channel, playback: { hls: string; dash: string }): ChannelView {
    const d = c.def;
    const host = this.cfg.publicHost;
    const streamId = `publish/${d.id}`;
    const srt = new URLSearchParams({ mode: 'caller', passphrase: d.srtPassphrase, pbkeylen: '16', streamid: streamId, latency: String(this.cfg.srtLatencyMs * 1000) });
    const s = c.session;
    let input: ChannelView['input'];
    if (s?.began || s?.protocol === 'rtmp') {
      const cutoff = this.now() - 5000;
      const recent = s.samples.filter((x) => x[0] >= cutoff);
      const span = recent.length > 1 ? (recent.at(-1)![0] - recent[0][0]) / 1000 : 0;
      const bytes = recent.slice(1).reduce((n, x) => n + x[1], 0);
      const frames = recent.slice(1).reduce((n, x) => n + x[2], 0);
      input = { ...s.input, bitrateKbps: span > 0 ? Math.round((bytes * 8) / span / 1000) : 0, frameRate: span > 0 ? Math.round((frames / span) * 100) / 100 : 0 };
    }
    return {
      id: d.id,
      state: d.stopped ? 'stopped' : s?.began ? 'live' : 'idle',
      lowLatency: d.lowLatency,
      dvrWindowSec: d.dvrWindowSec,
      ladder: d.ladder,
      segmentSec: d.segmentSec,
      partSec: d.partSec,
      allowTakeover: d.allowTakeover,
      createdAt: d.createdAt,
      ingest: {
        rtmp: `rtmp://${host}:${this.rtmpPort}/live/${d.id}?key=${d.streamKey}`,
        rtmpServer: `rtmp://${host}:${this.rtmpPort}/live`,
        streamKey: `${d.id}?key=${d.streamKey}`,
        srt: `srt://${host}:${d.srtPort}?${srt.toString()}`,
        srtPassphrase: d.srtPassphrase,
        srtStreamId: streamId,
      },
      playback,
      input,
      lastError: c.lastError,
      archive: c.archive,
    };
  }

  /** Bytes of a segment the current process no longer holds (from before a restart). */
  async storedSegment(c: Channel, r: LiveRendition, seg: LiveSegment): Promise<Buffer> {
    return this.store.getBuffer(channelKeys.segment(c.id, r.id, seg.msn));
  }

  async storedInit(c: Channel, r: LiveRendition, session: number): Promise<Buffer | undefined> {
    const mem = r.inits.get(session);
    if (mem) return mem;
    try {
      return await this.store.getBuffer(channelKeys.init(c.id, r.id, session));
    } catch {
      return undefined;
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  private install(def: ChannelDefinition, state: ChannelState | undefined): Channel {
    const ladder = liveLadder(def.ladder);
    const specs = this.renditionSpecs(ladder);
    let channel: Channel | undefined;
    const timeline = new LiveTimeline(
      { segmentTargetSec: def.segmentSec, partTargetSec: def.partSec, windowSec: def.dvrWindowSec, epochMs: def.epochMs },
      specs,
      {
        changed: () => channel?.notify(),
        segmentOpened: () => channel && this.background(this.saveState(channel), def.id, 'channel state could not be stored'),
        segmentComplete: (r, seg) => channel && this.onSegmentComplete(channel, r, seg),
        evicted: (r, seg) => channel && this.onEvicted(channel, r, seg),
      },
      { nextMsn: state?.nextMsn ?? 0, session: state?.session ?? 0, discontinuitySequence: state?.discontinuitySequence ?? 0 },
    );
    if (state) {
      timeline.restore({
        sessions: state.sessions,
        ended: state.ended || def.stopped,
        renditions: state.renditions.filter((r) => specs.some((s) => s.id === r.id)),
      });
    }
    channel = new Channel(def, ladder, timeline);
    channel.allocatedSession = state?.session ?? 0;
    this.channels.set(def.id, channel);
    return channel;
  }

  private renditionSpecs(ladder: LiveLadder): RenditionSpec[] {
    const { outputs } = liveEncoderArgs(ladder, { kind: 'flv', hasAudio: true, audioIsAac: true }, this.cfg.segmentSec);
    return outputs.map((o) => ({ id: o.renditionId, kind: o.kind, bandwidth: o.bandwidth }));
  }

  private allocateSrtPort(): number {
    const used = new Set([...this.channels.values()].map((c) => c.def.srtPort));
    for (let p = this.cfg.srtPorts[0]; p <= this.cfg.srtPorts[1]; p++) if (!used.has(p)) return p;
    throw createError('CHANNEL_LIMIT', `every SRT port in ${this.cfg.srtPorts[0]}-${this.cfg.srtPorts[1]} is taken: remove a channel or widen the range`);
  }

  private stateOf(c: Channel): ChannelState {
    const tl = c.timeline;
    return {
      schema: 1,
      nextMsn: tl.nextMsn,
      session: Math.max(tl.session, c.allocatedSession),
      discontinuitySequence: tl.discontinuitySequence,
      ended: tl.ended,
      sessions: tl.sessions,
      renditions: tl.renditions.map((r) => ({
        id: r.id,
        kind: r.kind,
        info: r.info,
        // The stored run from the oldest on: numbering in a playlist is implied, so no holes.
        segments: storedPrefix(r.segments).map((s) => ({ msn: s.msn, session: s.session, discontinuity: s.discontinuity, time: s.time, duration: s.duration, timescale: s.timescale, bytes: s.bytes, independent: s.independent, gap: s.gap })),
      })),
    };
  }

  /** Writes that run beside the media path; shutdown and removal wait for them (no write lands after). */
  private readonly pending = new Set<Promise<unknown>>();

  private background(p: Promise<unknown>, channel: string, failure: string): void {
    const tracked = p.catch((err) => this.log.error({ channel, err }, failure)).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async drainWrites(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async saveState(c: Channel): Promise<void> {
    await this.persist.writeState(c.id, this.stateOf(c));
  }

  /** A new session number, written to the state before any encoder uses it. */
  private async allocateSession(c: Channel): Promise<number> {
    c.allocatedSession = Math.max(c.allocatedSession, c.timeline.session) + 1;
    await this.saveState(c);
    return c.allocatedSession;
  }

  private onSegmentComplete(c: Channel, r: LiveRendition, seg: LiveSegment): void {
    if (seg.chunks.length === 0) return;
    this.background(
      this.persist.putMedia(channelKeys.segment(c.id, r.id, seg.msn), segmentData(seg)).then(() => {
        seg.stored = true;
        // The window index names a segment only once its bytes are stored in every rendition, so a
        // restart never lists a segment it cannot serve (one in flight becomes a gap).
        const everywhere = c.timeline.renditions.every((x) => x.segments.find((s) => s.msn === seg.msn)?.stored ?? true);
        if (everywhere) this.background(this.saveState(c), c.id, 'channel state could not be stored');
      }),
      c.id,
      `segment ${r.id}/${seg.msn} could not be stored`,
    );
  }

  private onEvicted(c: Channel, r: LiveRendition, seg: LiveSegment): void {
    this.background(this.store.delete(channelKeys.segment(c.id, r.id, seg.msn)), c.id, 'an evicted segment could not be deleted');
  }

  private fail(c: Channel, code: ErrorCode, message: string): CascadeError {
    const e = createError(code, message);
    c.lastError = { code, message, at: new Date(this.now()).toISOString() };
    this.log.warn({ channel: c.id, code, message }, 'live input refused');
    return e;
  }

  // ---- RTMP ------------------------------------------------------------------------------------

  private authorizeRtmp(req: PublishRequest, control: PublishControl): PublishDecision {
    const [name, query = ''] = req.streamName.split('?', 2);
    // Accept both `live` + `{id}?key=` and `live/{id}` + `?key=` shapes of the publish URL.
    const id = name || req.app.split('/')[1] || '';
    const key = new URLSearchParams(query).get('key') ?? '';
    const c = this.channels.get(id);
    if (req.app.split('/')[0] !== 'live' || !c) return { ok: false, code: 'NetStream.Publish.BadName', description: 'no such channel' };
    if (!safeEqual(key, c.def.streamKey)) {
      this.fail(c, 'LIVE_AUTH_FAILED', `RTMP publish from ${req.remote} refused: wrong stream key`);
      return { ok: false, code: 'NetStream.Publish.BadName', description: 'wrong stream key' };
    }
    if (c.def.stopped) return { ok: false, code: 'NetStream.Publish.Denied', description: 'channel is stopped' };
    if (c.session) {
      if (!c.def.allowTakeover) {
        this.fail(c, 'CHANNEL_BUSY', `RTMP publish from ${req.remote} refused: the channel already has a publisher (${c.session.protocol})`);
        return { ok: false, code: 'NetStream.Publish.Denied', description: 'channel already has a publisher' };
      }
      c.session.stop('taken over by a new publisher');
    }
    // One publisher: the SRT listener steps aside while RTMP is live.
    this.sessions.stopSrtListener(c);
    c.srtListener = undefined;
    return { ok: true, sink: this.sessions.rtmpSink(c, req, control) };
  }

}

function storedPrefix(segments: LiveSegment[]): LiveSegment[] {
  const n = segments.findIndex((s) => !(s.complete && s.stored));
  return n < 0 ? segments : segments.slice(0, n);
}

/** Constant-time comparison of secrets of any length (hashes first, as the playback shield does). */
function safeEqual(a: string, b: string): boolean {
  const h = (x: string): Buffer => createHash('sha256').update(x).digest();
  return timingSafeEqual(h(a), h(b));
}

