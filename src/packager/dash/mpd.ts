/** Typed MPD model (ISO/IEC 23009-1 §5.3) and its mapping to XML. */
import { el, isoDuration, serializeXml, type XmlElement } from './xml.js';

export interface TimelineEntry { t?: number; d: number; r?: number }

export interface SegmentTemplate {
  timescale: number;
  initialization: string;
  media: string;
  startNumber: number;
  presentationTimeOffset?: number;
  /** §5.3.9.5.3 / DASH-IF IOP low latency: a segment can be fetched this long before it is complete. */
  availabilityTimeOffset?: number;
  availabilityTimeComplete?: boolean;
  /** §5.3.9.6 SegmentTimeline */
  timeline: TimelineEntry[];
}

export interface Representation {
  id: string;
  bandwidth: number;
  codecs: string;
  width?: number;
  height?: number;
  frameRate?: string;
  sar?: string;
  audioSamplingRate?: number;
  audioChannels?: number;
  segmentTemplate?: SegmentTemplate;
}

export interface AdaptationSet {
  id: number;
  contentType: 'video' | 'audio';
  mimeType: string;
  lang?: string;
  segmentAlignment: boolean;
  startWithSAP: number;
  maxWidth?: number;
  maxHeight?: number;
  maxFrameRate?: string;
  par?: string;
  /** §5.12 ProducerReferenceTime: maps a presentation time to the wall clock it was produced at. */
  producerReferenceTime?: { id: number; wallClockTime: string; presentationTime: number; utcTiming?: UtcTiming };
  segmentTemplate?: SegmentTemplate;
  representations: Representation[];
}

export interface UtcTiming { schemeIdUri: string; value: string }

export interface Mpd {
  type: 'static' | 'dynamic';
  profiles: string[];
  minBufferTimeSec: number;
  mediaPresentationDurationSec?: number;
  /** §5.6 BaseURL: absolute base for every relative URL of the MPD. */
  baseUrl?: string;
  /** Dynamic presentations (§5.4): wall-clock anchors and update rules. */
  availabilityStartTime?: Date;
  publishTime?: Date;
  minimumUpdatePeriodSec?: number;
  timeShiftBufferDepthSec?: number;
  suggestedPresentationDelaySec?: number;
  maxSegmentDurationSec?: number;
  /** §K ServiceDescription: the latency the service aims for (ms) and the playback rates allowed to reach it. */
  serviceDescription?: { latencyTargetMs: number; latencyMinMs: number; latencyMaxMs: number; playbackRate: { min: number; max: number } };
  utcTiming?: UtcTiming[];
  periods: Array<{ id: string; startSec: number; adaptationSets: AdaptationSet[] }>;
}

function templateXml(t: SegmentTemplate): XmlElement {
  return el(
    'SegmentTemplate',
    {
      timescale: t.timescale,
      presentationTimeOffset: t.presentationTimeOffset,
      availabilityTimeOffset: t.availabilityTimeOffset,
      availabilityTimeComplete: t.availabilityTimeComplete,
      initialization: t.initialization,
      media: t.media,
      startNumber: t.startNumber,
    },
    [el('SegmentTimeline', undefined, t.timeline.map((s) => el('S', { t: s.t, d: s.d, r: s.r })))],
  );
}

export function mpdToXml(m: Mpd): string {
  const root = el(
    'MPD',
    {
      xmlns: 'urn:mpeg:dash:schema:mpd:2011',
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xsi:schemaLocation': 'urn:mpeg:dash:schema:mpd:2011 DASH-MPD.xsd',
      type: m.type,
      profiles: m.profiles.join(','),
      minBufferTime: isoDuration(m.minBufferTimeSec),
      mediaPresentationDuration: m.mediaPresentationDurationSec !== undefined ? isoDuration(m.mediaPresentationDurationSec) : undefined,
      availabilityStartTime: m.availabilityStartTime?.toISOString(),
      publishTime: m.publishTime?.toISOString(),
      minimumUpdatePeriod: m.minimumUpdatePeriodSec !== undefined ? isoDuration(m.minimumUpdatePeriodSec) : undefined,
      timeShiftBufferDepth: m.timeShiftBufferDepthSec !== undefined ? isoDuration(m.timeShiftBufferDepthSec) : undefined,
      suggestedPresentationDelay: m.suggestedPresentationDelaySec !== undefined ? isoDuration(m.suggestedPresentationDelaySec) : undefined,
      maxSegmentDuration: m.maxSegmentDurationSec !== undefined ? isoDuration(m.maxSegmentDurationSec) : undefined,
    },
    [
      m.baseUrl !== undefined ? { name: 'BaseURL', text: m.baseUrl } : undefined,
      m.serviceDescription
        ? el('ServiceDescription', { id: 0 }, [
            el('Latency', { referenceId: 0, target: m.serviceDescription.latencyTargetMs, max: m.serviceDescription.latencyMaxMs, min: m.serviceDescription.latencyMinMs }),
            el('PlaybackRate', { max: m.serviceDescription.playbackRate.max, min: m.serviceDescription.playbackRate.min }),
          ])
        : undefined,
      ...m.periods.map((p) =>
        el(
          'Period',
          { id: p.id, start: isoDuration(p.startSec) },
          p.adaptationSets.map((a) =>
            el(
              'AdaptationSet',
              {
                id: a.id,
                contentType: a.contentType,
                mimeType: a.mimeType,
                lang: a.lang,
                segmentAlignment: a.segmentAlignment,
                startWithSAP: a.startWithSAP,
                maxWidth: a.maxWidth,
                maxHeight: a.maxHeight,
                maxFrameRate: a.maxFrameRate,
                par: a.par,
              },
              [
                a.producerReferenceTime
                  ? el(
                      'ProducerReferenceTime',
                      { id: a.producerReferenceTime.id, type: 'encoder', wallClockTime: a.producerReferenceTime.wallClockTime, presentationTime: a.producerReferenceTime.presentationTime },
                      [a.producerReferenceTime.utcTiming && el('UTCTiming', { ...a.producerReferenceTime.utcTiming })],
                    )
                  : undefined,
                a.segmentTemplate && templateXml(a.segmentTemplate),
                ...a.representations.map((r) =>
                  el(
                    'Representation',
                    { id: r.id, bandwidth: r.bandwidth, codecs: r.codecs, width: r.width, height: r.height, frameRate: r.frameRate, sar: r.sar, audioSamplingRate: r.audioSamplingRate },
                    [
                      r.audioChannels !== undefined
                        ? el('AudioChannelConfiguration', { schemeIdUri: 'urn:mpeg:mpegB:cicp:ChannelConfiguration', value: r.audioChannels })
                        : undefined,
                      r.segmentTemplate && templateXml(r.segmentTemplate),
                    ],
                  ),
                ),
              ],
            ),
          ),
        ),
      ),
      ...(m.utcTiming ?? []).map((u) => el('UTCTiming', { ...u })),
    ],
  );
  return serializeXml(root);
}
