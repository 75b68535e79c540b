/**
 * The objects of one title version, exactly as players find them: the origin's own multivariant
 * playlist, media playlists and MPD are read with m3u8-parser and mpd-parser (the parsers of
 * video.js/VHS), and every URI they list is collected. Sizes and media times come from the
 * timeline model; the manifests' sizes from their text.
 */
import { Parser } from 'm3u8-parser';
import { parse as parseMpd } from 'mpd-parser';
import { playbackPaths, type TitleTimeline } from '../packager/index.js';
import type { PushObject } from './planner.js';

/** Reads an origin URL path (manifest text, or the size of another object). */
export interface OriginReader {
  text(path: string): Promise<string>;
  size(path: string): Promise<number>;
}

export interface WalkedTitle {
  objects: PushObject[];
  renditions: Array<{ id: string; kind: 'video' | 'audio' }>;
}

const BASE = 'http://origin.invalid';

/** Known media objects of a version (URL path → size, rendition, media time). */
function mediaIndex(t: TitleTimeline): Map<string, PushObject> {
  const idx = new Map<string, PushObject>();
  const dir = `/vod/${t.titleId}/${t.version}`;
  for (const r of t.renditions) {
    const rdir = `${dir}/${r.id}`;
    idx.set(`${rdir}/${playbackPaths.init}`, { path: `${rdir}/${playbackPaths.init}`, bytes: r.init.size, titleId: t.titleId, kind: 'init', rendition: r.id });
    for (const s of r.segments) {
      const path = `${rdir}/${playbackPaths.segment(s.number)}`;
      idx.set(path, { path, bytes: s.size, titleId: t.titleId, kind: 'segment', rendition: r.id, startSec: s.time / r.timescale, durationSec: s.duration / r.timescale });
    }
  }
  return idx;
}

/** A URI from a manifest as an origin path: relative ones resolved, CDN bases removed, query dropped. */
function toPath(uri: string, manifestPath: string, cdnBaseUrls: string[]): string | undefined {
  let u = uri;
  for (const b of cdnBaseUrls) if (u.startsWith(`${b}/`)) u = u.slice(b.length);
  const url = new URL(u, `${BASE}${manifestPath}`);
  if (url.origin !== BASE) return undefined;
  return url.pathname;
}

function parseHls(text: string): any {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
}

export async function walkTitle(reader: OriginReader, t: TitleTimeline, cdnBaseUrls: string[] = []): Promise<WalkedTitle> {
  const dir = `/vod/${t.titleId}/${t.version}`;
  const index = mediaIndex(t);
  const found = new Map<string, PushObject>();
  const manifest = (path: string, text: string): void => void found.set(path, { path, bytes: Buffer.byteLength(text), titleId: t.titleId, kind: 'manifest' });
  const media = (uri: string | undefined, from: string): void => {
    if (!uri) return;
    const path = toPath(uri, from, cdnBaseUrls);
    if (path && !found.has(path)) found.set(path, index.get(path) ?? { path, bytes: -1, titleId: t.titleId, kind: 'segment' });
  };

  // HLS: multivariant → media playlists (variants and audio/subtitle renditions) → init + segments.
  const mvPath = `${dir}/${playbackPaths.multivariant}`;
  const mvText = await reader.text(mvPath);
  manifest(mvPath, mvText);
  const mv = parseHls(mvText);
  const playlists = new Set<string>();
  for (const v of mv.playlists ?? []) if (v.uri) playlists.add(v.uri);
  for (const type of ['AUDIO', 'SUBTITLES']) {
    for (const group of Object.values(mv.mediaGroups?.[type] ?? {}) as any[]) for (const r of Object.values(group ?? {}) as any[]) if (r?.uri) playlists.add(r.uri);
  }
  for (const uri of playlists) {
    const path = toPath(uri, mvPath, cdnBaseUrls);
    if (!path) continue;
    const text = await reader.text(path);
    manifest(path, text);
    for (const s of parseHls(text).segments ?? []) {
      media(s.map?.uri, path);
      media(s.uri, path);
    }
  }

  // DASH: the MPD's SegmentTemplates, expanded by mpd-parser (the same URLs as HLS, by design).
  const mpdPath = `${dir}/${playbackPaths.mpd}`;
  const mpdText = await reader.text(mpdPath);
  manifest(mpdPath, mpdText);
  const mpd = parseMpd(mpdText, { manifestUri: `${BASE}${mpdPath}` });
  const dashPlaylists: any[] = [...(mpd.playlists ?? [])];
  for (const group of Object.values(mpd.mediaGroups?.AUDIO ?? {}) as any[]) for (const r of Object.values(group ?? {}) as any[]) dashPlaylists.push(...(r?.playlists ?? []));
  for (const p of dashPlaylists) {
    for (const s of p.segments ?? []) {
      media(s.map?.resolvedUri, mpdPath);
      media(s.resolvedUri, mpdPath);
    }
  }

  // Anything a manifest lists that the timeline does not know (should not happen): ask its size.
  for (const o of found.values()) if (o.bytes < 0) o.bytes = await reader.size(o.path);
  return { objects: [...found.values()], renditions: t.renditions.map((r) => ({ id: r.id, kind: r.kind })) };
}
