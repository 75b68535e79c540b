/** Typed multivariant playlist, RFC 8216bis §4.4.6, and its serialiser. */
import { attributeList, e, int, q, yesNo, type AttributeValue } from './attribute-list.js';

export interface HlsMediaTag {
  /** §4.4.6.1 EXT-X-MEDIA */
  type: 'AUDIO' | 'VIDEO' | 'SUBTITLES';
  groupId: string;
  name: string;
  uri?: string;
  language?: string;
  default: boolean;
  autoselect: boolean;
  /** AUDIO only: number of channels, as a quoted string per §4.4.6.1. */
  channels?: string;
}

export interface HlsVariant {
  /** §4.4.6.2 EXT-X-STREAM-INF */
  bandwidth: number;
  averageBandwidth?: number;
  codecs: string;
  resolution?: { width: number; height: number };
  frameRate?: number;
  audioGroup?: string;
  uri: string;
}

export interface HlsMultivariantPlaylist {
  version?: number;
  independentSegments: boolean;
  media: HlsMediaTag[];
  variants: HlsVariant[];
}

export function marshalMultivariant(p: HlsMultivariantPlaylist): string {
  const lines = ['#EXTM3U'];
  if (p.version && p.version > 1) lines.push(`#EXT-X-VERSION:${p.version}`);
  // §4.4.2.1: applies to every Media Playlist of the multivariant playlist.
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const m of p.media) {
    lines.push(
      `#EXT-X-MEDIA:${attributeList([
        ['TYPE', e(m.type)],
        ['GROUP-ID', q(m.groupId)],
        ['NAME', q(m.name)],
        ['LANGUAGE', m.language ? q(m.language) : undefined],
        ['DEFAULT', yesNo(m.default)],
        ['AUTOSELECT', yesNo(m.autoselect)],
        ['CHANNELS', m.channels ? q(m.channels) : undefined],
        ['URI', m.uri ? q(m.uri) : undefined],
      ])}`,
    );
  }
  for (const v of p.variants) {
    const attrs: Array<[string, AttributeValue | undefined]> = [
      ['BANDWIDTH', int(v.bandwidth)],
      ['AVERAGE-BANDWIDTH', v.averageBandwidth !== undefined ? int(v.averageBandwidth) : undefined],
      ['CODECS', q(v.codecs)],
      ['RESOLUTION', v.resolution ? { kind: 'resolution', ...v.resolution } : undefined],
      // §4.4.6.2: FRAME-RATE "rounded to three decimal places".
      ['FRAME-RATE', v.frameRate !== undefined ? { kind: 'float', value: v.frameRate, digits: 3 } : undefined],
      ['AUDIO', v.audioGroup ? q(v.audioGroup) : undefined],
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributeList(attrs)}`, v.uri);
  }
  return lines.join('\n') + '\n';
}

