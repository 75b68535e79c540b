/**
 * The timeline model: everything the renderers need to know about one title
 * version, derived from the CMAF tracks themselves. It is stored as JSON next to
 * the media (the title index) and is the single input of every manifest.
 */
export interface ByteRange { offset: number; size: number }

export interface Segment {
  /** 1-based number, shared by HLS URIs and DASH $Number$. */
  number: number;
  /** Earliest presentation time, track timescale (DASH S@t). */
  time: number;
  /** Duration, track timescale. */
  duration: number;
  offset: number;
  size: number;
}

export interface Rendition {
  id: string;
  kind: 'video' | 'audio';
  codecs: string;
  timescale: number;
  width?: number;
  height?: number;
  /** Sample aspect ratio [h, v]. */
  sar?: [number, number];
  /** Frame rate as a reduced fraction [num, den]. */
  frameRate?: [number, number];
  sampleRate?: number;
  channels?: number;
  language?: string;
  /** Object key of the CMAF track file, relative to the title version prefix. */
  object: string;
  init: ByteRange;
  segments: Segment[];
  /** Bits per second. peak: RFC 8216bis §4.4.6.2 peak segment bit rate. */
  bandwidth: { peak: number; average: number };
}

export interface TitleTimeline {
  schema: 1;
  titleId: string;
  version: string;
  /** ISO-8601 time the version was published (Last-Modified of its objects). */
  publishedAt: string;
  durationSec: number;
  segmentTargetSec: number;
  renditions: Rendition[];
}

