/**
 * Playback routes. Manifests are rendered just in time from the title timeline
 * (cached per version, coding and CDN base; per request when signed); init and
 * media segments are byte ranges of the stored CMAF track files, answered from
 * the hot object cache (one shared storage read per miss) or, above its object
 * size limit, streamed from storage.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  playbackPaths,
  renderVodMediaPlaylist,
  renderVodMpd,
  renderVodMultivariant,
  type Rendition,
  type TitleTimeline,
  type UriOptions,
} from '../../packager/index.js';
import type { Catalog } from '../../catalog/catalog.js';
import { titleKeys } from '../../catalog/catalog.js';
import { createError } from '../../shared/errors.js';
import { isValidId } from '../../shared/ids.js';
import { LruCache } from '../../shared/lru-cache.js';
import { cacheControl, type CacheKind } from '../cache-policy.js';
import { notModified, parseRange } from '../send-range.js';
import { encode, negotiateCoding } from '../compression.js';
import type { ObjectStore } from '../../storage/index.js';
import type { HotObjectCache } from '../hot-cache.js';
import { checkToken, type SigningKey } from '../signed-urls.js';
import { createHash } from 'node:crypto';
import { SHIELD_HEADER, shieldCheck } from '../shield.js';
import type { ResponseMemo } from '../response-memo.js';
import type { ChannelService } from '../../ingest/live/channel-service.js';
import { registerLiveRoutes } from './live.js';

export const CONTENT_TYPES = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  video: 'video/mp4',
  audio: 'audio/mp4',
} as const;

export interface PlaybackDeps {
  catalog: Catalog;
  store: ObjectStore;
  hot: HotObjectCache;
  signing: { keys: SigningKey[]; required: boolean };
  cdnBaseUrls: string[];
  shieldSecret?: string;
  now: () => Date;
  /** Where immutable answers are remembered for the small-object fast path (absent: not used). */
  memo?: ResponseMemo;
  /** Live channels, served under /live/ behind the same shield and token checks. */
  live?: { channels: ChannelService; latencyTargetMs: number };
}

const BASE_HEADER = 'x-cascade-base-url';

interface VersionParams { title: string; version: string }
interface RenditionParams extends VersionParams { rendition: string }
interface SegmentParams extends RenditionParams { segment: string }

/** Public playback URLs of a title version (origin-relative). */
export function playbackUrls(titleId: string, version: string): { hls: string; dash: string } {
  return { hls: `/vod/${titleId}/${version}/${playbackPaths.multivariant}`, dash: `/vod/${titleId}/${version}/${playbackPaths.mpd}` };
}

export function registerPlaybackRoutes(root: FastifyInstance, deps: PlaybackDeps): void {
  root.register(async (app) => playbackPlugin(app, deps));
}

async function playbackPlugin(app: FastifyInstance, deps: PlaybackDeps): Promise<void> {
  /** Verified playback token of a request, carried into the URIs its manifest lists. */
  const tokens = new WeakMap<FastifyRequest, string>();
  const shieldOk = shieldCheck(deps.shieldSecret);
  app.addHook('onRequest', async (req) => {
    // Origin-shield guard: only the CDN, which knows the secret, may fetch from the origin.
    if (shieldOk && !shieldOk(req.headers[SHIELD_HEADER])) {
      throw createError('SHIELD_REQUIRED', `this origin answers only requests with a valid ${SHIELD_HEADER} header`);
    }
    const { keys, required } = deps.signing;
    const token = (req.query as { token?: string }).token;
    if (keys.length === 0 || (!required && token === undefined)) return;
    const r = checkToken(keys, req.url.split('?')[0], token, Math.floor(deps.now().getTime() / 1000));
    if (!r.ok) throw createError(r.code, r.message);
    tokens.set(req, r.token);
  });


  // Rendered manifests per version and content coding.
  const rendered = new LruCache<string, string | Buffer>({ maxEntries: 4096, maxSize: 64 * 1024 * 1024, sizeOf: (s) => s.length });

  const timelineOf = async (p: VersionParams): Promise<TitleTimeline> => {
    if (!isValidId(p.title) || !isValidId(p.version)) throw createError('TITLE_NOT_FOUND', 'no such title');
    const t = await deps.catalog.timeline(p.title, p.version);
    if (!t) throw createError('TITLE_NOT_FOUND', `no title ${p.title} version ${p.version}`);
    return t;
  };

  /** ETag part per CDN base, hashed once (the base is in the body, so it must be in the ETag). */
  const cdnTags = new Map(deps.cdnBaseUrls.map((b) => [b, createHash('sha256').update(b).digest('base64url').slice(0, 8)]));

  /** The CDN base for this request: a listed one named by the header, else the default, else none. */
  const cdnBase = (req: FastifyRequest): string | undefined => {
    const asked = req.headers[BASE_HEADER];
    const listed = typeof asked === 'string' ? deps.cdnBaseUrls.find((b) => b === asked.replace(/\/+$/, '')) : undefined;
    return listed ?? deps.cdnBaseUrls[0];
  };

  const varyOn = deps.cdnBaseUrls.length > 1 ? 'Accept-Encoding, X-Cascade-Base-Url' : 'Accept-Encoding';
  if (deps.live) {
    registerLiveRoutes(app, { channels: deps.live.channels, latencyTargetMs: deps.live.latencyTargetMs, tokenOf: (req) => tokens.get(req), cdnBaseOf: cdnBase, vary: varyOn, now: () => deps.now().getTime() });
  }

  const sendText = (req: FastifyRequest, reply: FastifyReply, t: TitleTimeline, key: string, kind: CacheKind, type: string, render: (uris?: UriOptions) => string | undefined): FastifyReply => {
    const coding = negotiateCoding(req.headers['accept-encoding'] as string | undefined);
    const token = tokens.get(req);
    const cdn = cdnBase(req);
    // The directory the manifest's URIs are relative to.
    const base = cdn ? `${cdn}/vod/${t.titleId}/${t.version}/${key.includes('/') ? `${key.split('/')[0]}/` : ''}` : undefined;
    let body: string | Buffer | undefined;
    if (token) {
      // Per-viewer text (the token is in every URI): rendered for this request, not cached.
      const text = render({ query: `token=${token}`, base });
      if (text === undefined) throw createError('RENDITION_NOT_FOUND');
      body = coding === 'identity' ? text : encode(text, coding);
    } else {
      const ck = `${t.titleId}/${t.version}/${key}|${cdn ?? ''}`;
      body = rendered.get(`${ck}|${coding}`);
      if (body === undefined) {
        let text = rendered.get(`${ck}|identity`) as string | undefined;
        if (text === undefined) {
          text = render(base ? { base } : undefined);
          if (text === undefined) throw createError('RENDITION_NOT_FOUND');
          rendered.set(`${ck}|identity`, text);
        }
        body = coding === 'identity' ? text : encode(text, coding);
        if (coding !== 'identity') rendered.set(`${ck}|${coding}`, body);
      }
    }
    // One ETag per representation (RFC 9110 §8.8.3): a gzip body is not byte-identical to the text,
    // and a signed manifest differs by its token.
    const cdnTag = cdn ? `-${cdnTags.get(cdn)}` : '';
    const tokenTag = token ? `-${createHash('sha256').update(token).digest('base64url').slice(0, 10)}` : '';
    const variant = `${cdnTag}${tokenTag}`;
    const etag = `"${t.version}-${key.replace(/[^A-Za-z0-9._-]/g, '_')}${coding === 'identity' ? '' : `-${coding}`}${variant}"`;
    const lastModified = new Date(t.publishedAt);
    reply.header('Cache-Control', cacheControl(kind)).header('ETag', etag).header('Last-Modified', lastModified.toUTCString());
    const vary = reply.getHeader('vary');
    reply.header('Vary', vary ? `${String(vary)}, ${varyOn}` : varyOn);
    if (coding !== 'identity') reply.header('Content-Encoding', coding);
    if (notModified(req.headers, etag, lastModified)) return reply.code(304).send();
    // Versioned text is the same for every request with the same key; a signed one is per viewer.
    if (!token) deps.memo?.allow(req.raw);
    return reply.type(type).send(body);
  };

  app.get<{ Params: VersionParams }>('/vod/:title/:version/master.m3u8', async (req, reply) => {
    const t = await timelineOf(req.params);
    return sendText(req, reply, t, 'master.m3u8', 'vod-multivariant', CONTENT_TYPES.m3u8, (u) => renderVodMultivariant(t, u));
  });

  app.get<{ Params: VersionParams }>('/vod/:title/:version/manifest.mpd', async (req, reply) => {
    const t = await timelineOf(req.params);
    return sendText(req, reply, t, 'manifest.mpd', 'vod-mpd', CONTENT_TYPES.mpd, (u) => renderVodMpd(t, u));
  });

  app.get<{ Params: RenditionParams }>('/vod/:title/:version/:rendition/media.m3u8', async (req, reply) => {
    const t = await timelineOf(req.params);
    return sendText(req, reply, t, `${req.params.rendition}/media.m3u8`, 'vod-media-playlist', CONTENT_TYPES.m3u8, (u) => renderVodMediaPlaylist(t, req.params.rendition, u));
  });

  const renditionOf = (t: TitleTimeline, id: string): Rendition => {
    const r = t.renditions.find((x) => x.id === id);
    if (!r) throw createError('RENDITION_NOT_FOUND', `no rendition ${id} in ${t.titleId}/${t.version}`);
    return r;
  };

  /** Streams [offset, offset+size) of a track file as its own object, honouring Range and conditionals. */
  const sendSlice = async (req: FastifyRequest, reply: FastifyReply, t: TitleTimeline, r: Rendition, name: string, slice: { offset: number; size: number }, kind: CacheKind): Promise<FastifyReply> => {
    const etag = `"${t.version}-${r.id}-${name}-${slice.size}"`;
    const lastModified = new Date(t.publishedAt);
    reply
      .header('Cache-Control', cacheControl(kind))
      .header('ETag', etag)
      .header('Last-Modified', lastModified.toUTCString())
      .header('Accept-Ranges', 'bytes')
      .type(r.kind === 'video' ? CONTENT_TYPES.video : CONTENT_TYPES.audio);
    if (notModified(req.headers, etag, lastModified)) return reply.code(304).send();
    const range = parseRange(req.headers.range, slice.size);
    if (range.kind === 'unsatisfiable') {
      reply.header('Content-Range', `bytes */${slice.size}`);
      throw createError('INVALID_RANGE', `range ${req.headers.range} is outside the ${slice.size}-byte object`);
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : slice.size - 1;
    if (range.kind === 'partial') reply.code(206).header('Content-Range', `bytes ${start}-${end}/${slice.size}`);
    reply.header('Content-Length', end - start + 1);
    // fastify's HEAD handling keeps our Content-Length only for a stream payload; no storage read.
    if (req.method === 'HEAD') return reply.send(Readable.from([]));
    const key = titleKeys.track(t.titleId, t.version, r.object);
    if (deps.hot.fits(slice.size)) {
      // The whole object is cached and shared; a Range is cut from memory.
      const buf = await deps.hot.get(key, slice.offset, slice.size);
      // A token in the URL expires: such an answer is checked every time, never replayed.
      if (range.kind !== 'partial' && !tokens.has(req)) deps.memo?.allow(req.raw);
      return reply.send(start === 0 && end === slice.size - 1 ? buf : buf.subarray(start, end + 1));
    }
    const obj = await deps.store.get(key, { start: slice.offset + start, end: slice.offset + end });
    return reply.send(obj.body);
  };

  app.get<{ Params: RenditionParams }>('/vod/:title/:version/:rendition/init.mp4', async (req, reply) => {
    const t = await timelineOf(req.params);
    const r = renditionOf(t, req.params.rendition);
    return sendSlice(req, reply, t, r, 'init', r.init, 'init-segment');
  });

  app.get<{ Params: SegmentParams }>('/vod/:title/:version/:rendition/:segment', async (req, reply) => {
    const m = /^(\d{1,9})\.m4s$/.exec(req.params.segment);
    if (!m) throw createError('NOT_FOUND', `no such object ${req.params.segment}`);
    const t = await timelineOf(req.params);
    const r = renditionOf(t, req.params.rendition);
    const n = Number(m[1]);
    const first = r.segments[0]?.number ?? 1;
    const seg = r.segments[n - first];
    if (!seg || seg.number !== n) throw createError('SEGMENT_NOT_FOUND', `rendition ${r.id} has segments ${first}..${first + r.segments.length - 1}`);
    return sendSlice(req, reply, t, r, `${n}`, seg, 'media-segment');
  });

  // Unversioned URLs follow the current version (short-lived redirect).
  for (const file of [playbackPaths.multivariant, playbackPaths.mpd]) {
    app.get<{ Params: { title: string } }>(`/vod/:title/${file}`, async (req, reply) => {
      if (!isValidId(req.params.title)) throw createError('TITLE_NOT_FOUND');
      const cur = await deps.catalog.current(req.params.title);
      if (!cur) throw createError('TITLE_NOT_FOUND', `no title ${req.params.title}`);
      const token = tokens.get(req);
      const location = `/vod/${req.params.title}/${cur.version}/${file}${token ? `?token=${token}` : ''}`;
      return reply.header('Cache-Control', cacheControl('current-version-redirect')).redirect(location, 302);
    });
  }
}
