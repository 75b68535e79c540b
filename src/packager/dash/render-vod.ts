/** Renders a title timeline as a static CMAF-profile MPD. */
import type { Rendition, Segment, TitleTimeline } from '../model.js';
import { playbackPaths, withQuery, type UriOptions } from '../paths.js';
import { mpdToXml, type AdaptationSet, type Mpd, type Representation, type SegmentTemplate, type TimelineEntry } from './mpd.js';

/** ISO/IEC 23009-1 §8.12 CMAF profile; isoff-live for players that only know that one. */
export const VOD_PROFILES = ['urn:mpeg:dash:profile:cmaf:2019', 'urn:mpeg:dash:profile:isoff-live:2011'];

/** §5.3.9.6: consecutive equal durations collapse into @r; @t only where the timeline is not contiguous. */
export function compactTimeline(segments: readonly Segment[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let expected: number | undefined;
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last && s.time === expected && s.duration === last.d) {
      last.r = (last.r ?? 0) + 1;
    } else {
      out.push(s.time === expected ? { d: s.duration } : { t: s.time, d: s.duration });
    }
    expected = s.time + s.duration;
  }
  return out;
}

function template(r: Rendition, uris?: UriOptions): SegmentTemplate {
  return {
    timescale: r.timescale,
    initialization: withQuery(playbackPaths.dashInit, uris),
    media: withQuery(playbackPaths.dashMedia, uris),
    startNumber: r.segments[0]?.number ?? 1,
    // The period starts at presentation time 0 of every track.
    presentationTimeOffset: undefined,
    timeline: compactTimeline(r.segments),
  };
}

const sameTemplate = (a: SegmentTemplate, b: SegmentTemplate): boolean => JSON.stringify(a) === JSON.stringify(b);
const fps = (r: Rendition): string | undefined => (r.frameRate ? (r.frameRate[1] === 1 ? String(r.frameRate[0]) : `${r.frameRate[0]}/${r.frameRate[1]}`) : undefined);
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function adaptationSet(id: number, kind: 'video' | 'audio', rs: Rendition[], uris?: UriOptions): AdaptationSet {
  const templates = rs.map((r) => template(r, uris?.query ? { query: uris.query } : undefined));
  const shared = templates.every((t) => sameTemplate(t, templates[0]));
  const reps: Representation[] = rs.map((r, i) => ({
    id: r.id,
    bandwidth: r.bandwidth.peak,
    codecs: r.codecs,
    width: r.width,
    height: r.height,
    frameRate: fps(r),
    sar: r.sar ? `${r.sar[0]}:${r.sar[1]}` : undefined,
    audioSamplingRate: r.sampleRate,
    audioChannels: r.channels,
    segmentTemplate: shared ? undefined : templates[i],
  }));
  const set: AdaptationSet = {
    id,
    contentType: kind,
    mimeType: kind === 'video' ? 'video/mp4' : 'audio/mp4',
    lang: rs[0].language,
    segmentAlignment: true,
    startWithSAP: 1,
    segmentTemplate: shared ? templates[0] : undefined,
    representations: reps,
  };
  if (kind === 'video') {
    const widest = rs.reduce((a, b) => ((a.width ?? 0) >= (b.width ?? 0) ? a : b));
    set.maxWidth = Math.max(...rs.map((r) => r.width ?? 0));
    set.maxHeight = Math.max(...rs.map((r) => r.height ?? 0));
    set.maxFrameRate = fps(rs.reduce((a, b) => ((a.frameRate?.[0] ?? 0) / (a.frameRate?.[1] ?? 1) >= (b.frameRate?.[0] ?? 0) / (b.frameRate?.[1] ?? 1) ? a : b)));
    const [sh, sv] = widest.sar ?? [1, 1];
    const w = (widest.width ?? 0) * sh;
    const h = (widest.height ?? 0) * sv;
    const g = gcd(w, h) || 1;
    set.par = `${w / g}:${h / g}`;
  }
  return set;
}

export function vodMpdModel(t: TitleTimeline, uris?: UriOptions): Mpd {
  const sets: AdaptationSet[] = [];
  const video = t.renditions.filter((r) => r.kind === 'video').sort((a, b) => a.bandwidth.peak - b.bandwidth.peak);
  const audio = t.renditions.filter((r) => r.kind === 'audio');
  if (video.length) sets.push(adaptationSet(sets.length, 'video', video, uris));
  if (audio.length) sets.push(adaptationSet(sets.length, 'audio', audio, uris));
  return {
    type: 'static',
    profiles: VOD_PROFILES,
    minBufferTimeSec: Math.min(t.segmentTargetSec, 4),
    mediaPresentationDurationSec: t.durationSec,
    baseUrl: uris?.base,
    periods: [{ id: '0', startSec: 0, adaptationSets: sets }],
  };
}

export const renderVodMpd = (t: TitleTimeline, uris?: UriOptions): string => mpdToXml(vodMpdModel(t, uris));
