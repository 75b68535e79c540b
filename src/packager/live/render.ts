/** Renders a live timeline as LL-HLS playlists (RFC 8216bis) and a dynamic MPD (ISO/IEC 23009-1, DASH-IF IOP). */
import { marshalMediaPlaylist, type HlsMediaPlaylist, type HlsPart, type HlsRenditionReport, type HlsSegment } from '../hls/media-playlist.js';
import { marshalMultivariant, type HlsMediaTag, type HlsVariant } from '../hls/multivariant-playlist.js';
import { mpdToXml, type AdaptationSet, type Mpd } from '../dash/mpd.js';
import { withQuery, type UriOptions } from '../paths.js';
import { segmentEndSec, segmentSeconds, segmentStartSec, type LiveRendition, type LiveSegment } from './model.js';
import type { LiveTimeline } from './live-timeline.js';
import { livePaths } from './paths.js';

/** EXT-X-SKIP needs version 9 (§4.4.5.2); live playlists keep one version whether or not they skip. */
const LIVE_PLAYLIST_VERSION = 9;
const AUDIO_GROUP = 'audio';

export interface LiveRenderOptions {
  lowLatency: boolean;
  uris?: UriOptions;
}

/** EXT-X-SERVER-CONTROL values, identical for every rendition of a channel. */
export function serverControl(tl: LiveTimeline, lowLatency: boolean): { holdBack: number; partHoldBack?: number; canSkipUntil: number } {
  const td = tl.targetDuration;
  return {
    // §4.4.3.8: HOLD-BACK at least three target durations; CAN-SKIP-UNTIL at least six.
    holdBack: 3 * td,
    canSkipUntil: 6 * td,
    // PART-HOLD-BACK: the MUST is 2 × PART-TARGET; 3 × keeps a player clear of a late part.
    partHoldBack: lowLatency ? 3 * tl.partTarget : undefined,
  };
}

/** Bits per second for BANDWIDTH: the ladder's nominal rate or the measured peak segment rate, whichever is higher (§4.4.6.2). */
export function liveBandwidth(r: LiveRendition): number {
  let peak = r.nominalBandwidth;
  for (const s of r.segments) if (s.complete && s.duration > 0) peak = Math.max(peak, Math.ceil((s.bytes * 8) / segmentSeconds(s)));
  return peak;
}

/** Renditions ready to be announced: each has a track header and media. */
export function readyRenditions(tl: LiveTimeline): LiveRendition[] {
  return tl.renditions.filter((r) => r.info && r.segments.some((s) => s.complete));
}

export function renderLiveMultivariant(tl: LiveTimeline, opts: LiveRenderOptions): string | undefined {
  const ready = readyRenditions(tl);
  if (ready.length === 0) return undefined;
  const video = ready.filter((r) => r.kind === 'video').sort((a, b) => liveBandwidth(b) - liveBandwidth(a));
  const audio = ready.filter((r) => r.kind === 'audio');
  const media: HlsMediaTag[] = audio.map((a, i) => ({
    type: 'AUDIO',
    groupId: AUDIO_GROUP,
    name: a.info?.language ?? (i === 0 ? 'Audio' : `Audio ${i + 1}`),
    language: a.info?.language,
    default: i === 0,
    autoselect: true,
    channels: a.info?.channels ? String(a.info.channels) : undefined,
    uri: withQuery(livePaths.mediaPlaylist(a.id), opts.uris),
  }));
  const audioPeak = Math.max(0, ...audio.map(liveBandwidth));
  const audioCodecs = [...new Set(audio.map((a) => a.info!.codecs))];
  const variants: HlsVariant[] = video.length
    ? video.map((v) => ({
        bandwidth: liveBandwidth(v) + audioPeak,
        codecs: [v.info!.codecs, ...audioCodecs].join(','),
        resolution: v.info?.width && v.info.height ? { width: v.info.width, height: v.info.height } : undefined,
        audioGroup: audio.length ? AUDIO_GROUP : undefined,
        uri: withQuery(livePaths.mediaPlaylist(v.id), opts.uris),
      }))
    : audio.map((a) => ({ bandwidth: liveBandwidth(a), codecs: a.info!.codecs, uri: withQuery(livePaths.mediaPlaylist(a.id), opts.uris) }));
  return marshalMultivariant({ independentSegments: false, media: video.length ? media : [], variants });
}

/** Last segment and last complete part of a rendition: what EXT-X-RENDITION-REPORT and blocking reload compare against. */
export function lastPosition(tl: LiveTimeline, r: LiveRendition): { msn: number; part?: number } | undefined {
  const last = r.segments.at(-1);
  if (!last) return undefined;
  const parts = tl.completeParts(r, last);
  // Segments restored from storage (or gaps) have no parts: no LAST-PART then.
  const lastPart = (s: LiveSegment): number | undefined => (s.parts.length ? s.parts.length - 1 : undefined);
  if (last.complete) return { msn: last.msn, part: lastPart(last) };
  if (parts > 0) return { msn: last.msn, part: parts - 1 };
  const prev = r.segments.at(-2);
  return prev ? { msn: prev.msn, part: lastPart(prev) } : undefined;
}

function partsOf(tl: LiveTimeline, r: LiveRendition, seg: LiveSegment, uris?: UriOptions): HlsPart[] {
  const n = tl.completeParts(r, seg);
  return seg.parts.slice(0, n).map((p, i) => ({ duration: p.duration, independent: p.independent, uri: withQuery(livePaths.part(seg.msn, i), uris) }));
}

export function liveMediaModel(tl: LiveTimeline, renditionId: string, opts: LiveRenderOptions & { skip?: boolean }): HlsMediaPlaylist | undefined {
  const r = tl.rendition(renditionId);
  if (!r?.info || r.segments.length === 0) return undefined;
  const td = tl.targetDuration;
  const control = serverControl(tl, opts.lowLatency);
  const complete = r.segments.filter((s) => s.complete);
  const open = r.segments.at(-1)?.complete === false ? r.segments.at(-1) : undefined;
  const edgeSec = open ? segmentEndSec(open) : complete.length ? segmentEndSec(complete.at(-1)!) : 0;
  const lastCompleteEnd = complete.length ? segmentEndSec(complete.at(-1)!) : 0;
  // §6.2.5.1 delta update: skip the oldest segments further than CAN-SKIP-UNTIL from the end.
  let skipped = 0;
  if (opts.skip) while (skipped < complete.length && lastCompleteEnd - segmentStartSec(complete[skipped]) > control.canSkipUntil) skipped++;
  // §4.4.4.9: parts are listed only for the last three target durations.
  const partsFrom = edgeSec - 3 * td;
  const segments: HlsSegment[] = [];
  let prevSession: number | undefined;
  const header = (s: LiveSegment, first: boolean): Omit<HlsSegment, 'duration' | 'uri'> => {
    const newSession = first || s.session !== prevSession;
    prevSession = s.session;
    return {
      discontinuity: s.discontinuity || undefined,
      map: newSession ? { uri: withQuery(livePaths.init(s.session), opts.uris) } : undefined,
      programDateTime: newSession || s.discontinuity ? new Date(tl.config.epochMs + segmentStartSec(s) * 1000) : undefined,
      parts: opts.lowLatency && segmentEndSec(s) > partsFrom ? partsOf(tl, r, s, opts.uris) : undefined,
    };
  };
  complete.slice(skipped).forEach((s, i) => {
    segments.push({ ...header(s, i === 0), duration: segmentSeconds(s), uri: withQuery(livePaths.segment(s.msn), opts.uris), gap: s.gap });
  });
  const openSegment = open && opts.lowLatency ? { ...header(open, segments.length === 0), parts: partsOf(tl, r, open, opts.uris) } : undefined;
  let preloadHint: { uri: string } | undefined;
  if (opts.lowLatency && !tl.ended) {
    // §4.4.5.3: hint the part that comes next (the one growing, or the first of the next segment).
    const next = open ? { msn: open.msn, part: tl.completeParts(r, open) } : { msn: tl.nextMsn, part: 0 };
    preloadHint = { uri: withQuery(livePaths.part(next.msn, next.part), opts.uris) };
  }
  const reports: HlsRenditionReport[] = [];
  for (const other of readyRenditions(tl)) {
    if (other.id === r.id) continue;
    const pos = lastPosition(tl, other);
    if (pos) reports.push({ uri: withQuery(`../${livePaths.mediaPlaylist(other.id)}`, opts.uris), lastMsn: pos.msn, lastPart: opts.lowLatency ? pos.part : undefined });
  }
  // §4.4.5.2: a delta update keeps the media sequence number of the first (skipped) segment.
  const first = complete[0] ?? open!;
  return {
    version: LIVE_PLAYLIST_VERSION,
    targetDuration: td,
    mediaSequence: first.msn,
    discontinuitySequence: tl.discontinuitySequence,
    independentSegments: r.segments.every((s) => s.independent),
    serverControl: { canBlockReload: true, canSkipUntil: control.canSkipUntil, holdBack: control.holdBack, partHoldBack: control.partHoldBack },
    partTarget: opts.lowLatency ? tl.partTarget : undefined,
    skippedSegments: skipped || undefined,
    segments,
    openSegment,
    preloadHint,
    renditionReports: reports,
    endList: tl.ended,
  };
}

export function renderLiveMediaPlaylist(tl: LiveTimeline, renditionId: string, opts: LiveRenderOptions & { skip?: boolean }): string | undefined {
  const m = liveMediaModel(tl, renditionId, opts);
  return m && marshalMediaPlaylist(m);
}

/** ISO/IEC 23009-1 §8.12 CMAF profile and the isoff-live profile dash.js and Shaka key on. */
const LIVE_PROFILES = ['urn:mpeg:dash:profile:isoff-live:2011', 'urn:mpeg:dash:profile:cmaf:2019'];

export interface LiveMpdOptions extends LiveRenderOptions {
  nowMs: number;
  /** Absolute or origin-relative URL of the origin's `/time` (UTCTiming, DASH-IF IOP §4.7). */
  timeUrl: string;
  /** Latency the player should aim for (ms), ServiceDescription. */
  latencyTargetMs: number;
}

export function liveMpdModel(tl: LiveTimeline, opts: LiveMpdOptions): Mpd | undefined {
  const ready = readyRenditions(tl);
  if (ready.length === 0) return undefined;
  const td = tl.targetDuration;
  const utc = { schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014', value: opts.timeUrl };
  const periods: Mpd['periods'] = [];
  for (const session of tl.sessions) {
    const sets: AdaptationSet[] = [];
    for (const kind of ['video', 'audio'] as const) {
      const reps = ready.filter((r) => r.kind === kind && r.segments.some((s) => s.session === session.no && s.complete && !s.gap));
      if (reps.length === 0) continue;
      const set: AdaptationSet = {
        id: sets.length,
        contentType: kind,
        mimeType: kind === 'video' ? 'video/mp4' : 'audio/mp4',
        segmentAlignment: true,
        startWithSAP: 1,
        representations: reps.map((r) => {
          // Gap placeholders have no media: the SegmentTimeline simply has a hole there.
          const segs = r.segments.filter((s) => s.session === session.no && s.complete && !s.gap);
          const ts = segs[0].timescale;
          let expected: number | undefined;
          const timeline = segs.map((s) => {
            const entry = s.time === expected ? { d: s.duration } : { t: s.time, d: s.duration };
            expected = s.time + s.duration;
            return entry;
          });
          return {
            id: r.id,
            bandwidth: liveBandwidth(r),
            codecs: r.info!.codecs,
            width: r.info!.width,
            height: r.info!.height,
            sar: r.info!.sar ? `${r.info!.sar[0]}:${r.info!.sar[1]}` : kind === 'video' ? '1:1' : undefined,
            audioSamplingRate: r.info!.sampleRate,
            audioChannels: r.info!.channels,
            segmentTemplate: {
              timescale: ts,
              initialization: withQuery(livePaths.dashInit(session.no), opts.uris?.query ? { query: opts.uris.query } : undefined),
              media: withQuery(livePaths.dashMedia, opts.uris?.query ? { query: opts.uris.query } : undefined),
              startNumber: segs[0].msn,
              // §5.3.9.2: media time of the Period start in this track.
              presentationTimeOffset: Math.round(session.startSec * ts),
              // The segment in production can be requested one part after it starts; it arrives chunk by chunk.
              availabilityTimeOffset: opts.lowLatency ? Math.max(0, Math.round((tl.config.segmentTargetSec - tl.partTarget) * 1000) / 1000) : undefined,
              availabilityTimeComplete: opts.lowLatency ? false : undefined,
              timeline,
            },
          };
        }),
      };
      if (opts.lowLatency) {
        const seg = reps[0].segments.find((s) => s.session === session.no)!;
        // §5.12: the first segment's media time was produced at the channel-clock wall time it carries.
        set.producerReferenceTime = { id: 0, wallClockTime: new Date(tl.config.epochMs + segmentStartSec(seg) * 1000).toISOString(), presentationTime: seg.time, utcTiming: utc };
      }
      sets.push(set);
    }
    if (sets.length) periods.push({ id: `s${session.no}`, startSec: session.startSec, adaptationSets: sets });
  }
  if (periods.length === 0) return undefined;
  const dynamic = !tl.ended;
  const maxSeg = Math.max(td, ...tl.leaderRendition.segments.filter((s) => s.complete).map(segmentSeconds));
  return {
    type: dynamic ? 'dynamic' : 'static',
    profiles: LIVE_PROFILES,
    minBufferTimeSec: opts.lowLatency ? tl.partTarget * 2 : td,
    mediaPresentationDurationSec: dynamic ? undefined : tl.liveEdgeSec,
    availabilityStartTime: new Date(tl.config.epochMs),
    publishTime: new Date(opts.nowMs),
    minimumUpdatePeriodSec: dynamic ? (opts.lowLatency ? tl.partTarget : td / 2) : undefined,
    timeShiftBufferDepthSec: dynamic ? tl.config.windowSec : undefined,
    suggestedPresentationDelaySec: dynamic ? (opts.lowLatency ? opts.latencyTargetMs / 1000 : 3 * td) : undefined,
    maxSegmentDurationSec: Math.ceil(maxSeg * 1000) / 1000,
    baseUrl: opts.uris?.base,
    serviceDescription:
      dynamic && opts.lowLatency
        ? { latencyTargetMs: opts.latencyTargetMs, latencyMinMs: Math.round(opts.latencyTargetMs * 0.5), latencyMaxMs: opts.latencyTargetMs * 3, playbackRate: { min: 0.96, max: 1.04 } }
        : undefined,
    utcTiming: [utc],
    periods,
  };
}

export function renderLiveMpd(tl: LiveTimeline, opts: LiveMpdOptions): string | undefined {
  const m = liveMpdModel(tl, opts);
  return m && mpdToXml(m);
}
