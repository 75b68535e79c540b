/** The packager's surface: pure functions from CMAF bytes to timelines to manifests. */
export { BoxError } from './bmff/box-reader.js';
export { parseInitSegment, type InitInfo } from './bmff/init-segment.js';
export { parseFragment, type FragmentInfo } from './bmff/fragment.js';
export { scanTrack, bufferAccess, type RandomAccess, type ScannedTrack } from './bmff/scan-track.js';
export { buildTimeline, buildRendition, checkAlignment, TimelineError, type TrackInput } from './build-timeline.js';
export type { TitleTimeline, Rendition, Segment, ByteRange } from './model.js';
export { playbackPaths, withQuery, type UriOptions } from './paths.js';
export { renderVodMultivariant, renderVodMediaPlaylist, vodMultivariantModel, vodMediaModel } from './hls/render-vod.js';
export { renderVodMpd, vodMpdModel } from './dash/render-vod.js';
export { CmafStreamReader, type CmafUnit } from './live/cmaf-stream.js';
export { shiftSegmentDecodeTimes } from './live/tfdt.js';
export { LiveTimeline, type LiveTimelineConfig, type LiveTimelineEvents, type RenditionSpec } from './live/live-timeline.js';
export { partData, segmentData, type LiveRendition, type LiveSegment, type LivePart } from './live/model.js';
export { livePaths, parseLiveObject, type LiveObject } from './live/paths.js';
export { renderLiveMultivariant, renderLiveMediaPlaylist, renderLiveMpd, liveMediaModel, liveMpdModel, lastPosition, serverControl } from './live/render.js';
