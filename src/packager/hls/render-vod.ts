/** Renders a title timeline into HLS playlists (typed models first, text last). */
import type { Rendition, TitleTimeline } from '../model.js';
import { hlsTargetDuration } from './target-duration.js';
import { marshalMediaPlaylist, type HlsMediaPlaylist } from './media-playlist.js';
import { marshalMultivariant, type HlsMediaTag, type HlsMultivariantPlaylist, type HlsVariant } from './multivariant-playlist.js';
import { playbackPaths, withQuery, type UriOptions } from '../paths.js';

const AUDIO_GROUP = 'audio';

/** RFC 8216bis §7: EXT-X-MAP in a playlist without EXT-X-I-FRAMES-ONLY needs version 6. */
const MEDIA_PLAYLIST_VERSION = 6;

function frameRate(r: Rendition): number | undefined {
  return r.frameRate ? r.frameRate[0] / r.frameRate[1] : undefined;
}

export function vodMultivariantModel(t: TitleTimeline, uris?: UriOptions): HlsMultivariantPlaylist {
  const video = t.renditions.filter((r) => r.kind === 'video').sort((a, b) => b.bandwidth.peak - a.bandwidth.peak);
  const audio = t.renditions.filter((r) => r.kind === 'audio');
  const media: HlsMediaTag[] = [];
  const variants: HlsVariant[] = [];
  if (video.length > 0) {
    // With audio in its own renditions, each variant's BANDWIDTH must cover the
    // loudest audio rendition it may be combined with (§4.4.6.2).
    const audioPeak = Math.max(0, ...audio.map((a) => a.bandwidth.peak));
    const audioAvg = Math.max(0, ...audio.map((a) => a.bandwidth.average));
    const audioCodecs = [...new Set(audio.map((a) => a.codecs))];
    audio.forEach((a, i) => {
      media.push({
        type: 'AUDIO',
        groupId: AUDIO_GROUP,
        name: audioName(a),
        language: a.language,
        default: i === 0,
        autoselect: true,
        channels: a.channels ? String(a.channels) : undefined,
        uri: withQuery(playbackPaths.mediaPlaylist(a.id), uris),
      });
    });
    for (const v of video) {
      variants.push({
        bandwidth: v.bandwidth.peak + audioPeak,
        averageBandwidth: v.bandwidth.average + audioAvg,
        codecs: [v.codecs, ...audioCodecs].join(','),
        resolution: v.width && v.height ? { width: displayWidth(v), height: v.height } : undefined,
        frameRate: frameRate(v),
        audioGroup: audio.length > 0 ? AUDIO_GROUP : undefined,
        uri: withQuery(playbackPaths.mediaPlaylist(v.id), uris),
      });
    }
  } else {
    for (const a of audio) {
      variants.push({ bandwidth: a.bandwidth.peak, averageBandwidth: a.bandwidth.average, codecs: a.codecs, uri: withQuery(playbackPaths.mediaPlaylist(a.id), uris) });
    }
  }
  return { independentSegments: true, media, variants };
}

function displayWidth(r: Rendition): number {
  const [h, v] = r.sar ?? [1, 1];
  return Math.round(((r.width ?? 0) * h) / v);
}

function audioName(a: Rendition): string {
  const ch = a.channels === 1 ? 'mono' : a.channels === 2 ? 'stereo' : a.channels ? `${a.channels}ch` : '';
  return [a.language ?? 'Audio', ch].filter(Boolean).join(' ');
}

export function vodMediaModel(t: TitleTimeline, renditionId: string, uris?: UriOptions): HlsMediaPlaylist | undefined {
  const r = t.renditions.find((x) => x.id === renditionId);
  if (!r) return undefined;
  const durations = r.segments.map((s) => s.duration / r.timescale);
  return {
    version: MEDIA_PLAYLIST_VERSION,
    targetDuration: hlsTargetDuration(durations),
    mediaSequence: 0,
    playlistType: 'VOD',
    independentSegments: true,
    map: { uri: withQuery(playbackPaths.init, uris) },
    segments: r.segments.map((s, i) => ({ duration: durations[i], uri: withQuery(playbackPaths.segment(s.number), uris) })),
    endList: true,
  };
}

export const renderVodMultivariant = (t: TitleTimeline, uris?: UriOptions): string => marshalMultivariant(vodMultivariantModel(t, uris));

export function renderVodMediaPlaylist(t: TitleTimeline, renditionId: string, uris?: UriOptions): string | undefined {
  const m = vodMediaModel(t, renditionId, uris);
  return m && marshalMediaPlaylist(m);
}
