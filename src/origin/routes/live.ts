/**
 * Live playback: LL-HLS playlists with blocking reload, delta updates and preload
 * hints (draft-pantos-hls-rfc8216bis §6.2.5–6.2.6), parts, segments (streamed chunk
 * by chunk while in production, for LL-DASH), init segments and a dynamic MPD.
 *
 * Held requests wait on the channel's notifier (woken when a part or segment is
 * published) with a limit of three target durations (§6.2.5.2: 503 after that).
 * Waiters for the same playlist state share one render.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  lastPosition,
  livePaths,
  parseLiveObject,
  partData,
  renderLiveMediaPlaylist,
  renderLiveMpd,
  renderLiveMultivariant,
  segmentData,
  type LiveRendition,
  type LiveSegment,
  type UriOptions,
} from '../../packager/index.js';
import type { Channel, ChannelService } from '../../ingest/live/channel-service.js';
import { createError } from '../../shared/errors.js';
import { isValidId } from '../../shared/ids.js';
import { LruCache } from '../../shared/lru-cache.js';
import { cacheControl, type CacheKind } from '../cache-policy.js';
import { encode, negotiateCoding } from '../compression.js';
import { notModified, parseRange } from '../send-range.js';

export interface LiveRouteDeps {
  channels: ChannelService;
  /** Token of a signed request, carried into the URIs of the playlists it gets. */
  tokenOf(req: FastifyRequest): string | undefined;
  /** The CDN base for this request (config / X-Cascade-Base-Url), if any. */
  cdnBaseOf(req: FastifyRequest): string | undefined;
  /** Vary values for manifests (Accept-Encoding, and the base header when several bases exist). */
  vary: string;
  now: () => number;
  latencyTargetMs: number;
}

const M3U8 = 'application/vnd.apple.mpegurl';
const MPD = 'application/dash+xml';

/** Public playback URLs of a channel (origin-relative). */
export function livePlaybackUrls(channelId: string): { hls: string; dash: string } {
  return { hls: `/live/${channelId}/${livePaths.multivariant}`, dash: `/live/${channelId}/${livePaths.mpd}` };
}

interface ChannelParams { channel: string }
interface RenditionParams extends ChannelParams { rendition: string }
interface ObjectParams extends RenditionParams { object: string }

/** §6.2.5.2: the Advance Part Limit. */
function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? Math.floor(3 / partTarget) : 3;
}

/** A directive value: a decimal integer within 2^53, else 400. */
function directive(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw createError('LIVE_BAD_DIRECTIVE', `${name} must be a non-negative decimal integer`);
  return Number(v);
}

export function registerLiveRoutes(app: FastifyInstance, deps: LiveRouteDeps): void {
  /** One render per playlist state, shared by every waiter it wakes: text, its ETag, its compressed forms. */
  interface Rendered { text: string; etag: string; coded: Map<string, Buffer | string> }
  const rendered = new LruCache<string, Rendered>({ maxEntries: 2048, maxSize: 32 * 1024 * 1024, sizeOf: (r) => r.text.length * 2 });

  const channelOf = (id: string): Channel => {
    const c = isValidId(id) ? deps.channels.get(id) : undefined;
    if (!c) throw createError('CHANNEL_NOT_FOUND', `no channel ${id.slice(0, 128)}`);
    return c;
  };
  const ctx = (c: Channel): { targetDuration: number } => ({ targetDuration: c.timeline.targetDuration });
  const holdMs = (c: Channel): number => 3 * c.timeline.targetDuration * 1000;

  const noMedia = (c: Channel): never => {
    throw createError('CHANNEL_OFFLINE', `channel ${c.id} has no media yet: start a publisher`);
  };

  const abortOf = (req: FastifyRequest): AbortSignal => {
    const ac = new AbortController();
    req.raw.once('close', () => ac.abort());
    return ac.signal;
  };

  /** Token and CDN base of a request; `dir` is what the manifest's URIs are relative to. */
  const uriOptions = (req: FastifyRequest, c: Channel, dir = ''): UriOptions | undefined => {
    const token = deps.tokenOf(req);
    const cdn = deps.cdnBaseOf(req);
    if (!token && !cdn) return undefined;
    return { query: token ? `token=${token}` : undefined, base: cdn ? `${cdn}/live/${c.id}/${dir}` : undefined };
  };

  /** Sends playlist/MPD text with compression, a content ETag and conditional handling. */
  const sendText = (req: FastifyRequest, reply: FastifyReply, c: Channel, key: string, kind: CacheKind, type: string, render: () => string | undefined): FastifyReply | undefined => {
    const coding = negotiateCoding(req.headers['accept-encoding'] as string | undefined);
    const token = deps.tokenOf(req);
    const ck = `${c.id}|${c.timeline.session}|${c.timeline.version}|${key}|${token ?? ''}|${deps.cdnBaseOf(req) ?? ''}`;
    let r = rendered.get(ck);
    if (r === undefined) {
      const text = render();
      if (text === undefined) return undefined;
      r = { text, etag: createHash('sha1').update(text).digest('base64url').slice(0, 16), coded: new Map() };
      rendered.set(ck, r);
    }
    let body: string | Buffer = r.text;
    if (coding !== 'identity') {
      body = r.coded.get(coding) ?? encode(r.text, coding);
      r.coded.set(coding, body);
    }
    const etag = `"${r.etag}${coding === 'identity' ? '' : `-${coding}`}"`;
    reply.header('Cache-Control', cacheControl(kind, ctx(c))).header('ETag', etag).header('Last-Modified', new Date(c.lastChangedAt).toUTCString());
    const vary = reply.getHeader('vary');
    reply.header('Vary', vary ? `${String(vary)}, ${deps.vary}` : deps.vary);
    if (coding !== 'identity') reply.header('Content-Encoding', coding);
    if (notModified(req.headers, etag, new Date(c.lastChangedAt))) return reply.code(304).send();
    return reply.type(type).send(body);
  };

  /** Waits (bounded) for the channel's first complete segment, so players starting early get a playlist. */
  const awaitMedia = async (req: FastifyRequest, c: Channel): Promise<boolean> => {
    const has = (): boolean => c.timeline.renditions.some((r) => r.segments.some((s) => s.complete));
    if (has()) return true;
    if (!c.session) return false;
    return (await c.waitFor(has, holdMs(c), abortOf(req))) && has();
  };

  app.get<{ Params: ChannelParams }>('/live/:channel/master.m3u8', async (req, reply) => {
    const c = channelOf(req.params.channel);
    if (!(await awaitMedia(req, c))) throw createError('CHANNEL_OFFLINE', `channel ${c.id} has no media yet: start a publisher`);
    const uris = uriOptions(req, c);
    return sendText(req, reply, c, 'master', 'live-multivariant', M3U8, () => renderLiveMultivariant(c.timeline, { lowLatency: c.lowLatency, uris })) ?? noMedia(c);
  });

  app.get<{ Params: ChannelParams }>('/live/:channel/manifest.mpd', async (req, reply) => {
    const c = channelOf(req.params.channel);
    if (!(await awaitMedia(req, c))) throw createError('CHANNEL_OFFLINE', `channel ${c.id} has no media yet: start a publisher`);
    const uris = uriOptions(req, c);
    const nowMs = deps.now();
    // publishTime changes the text each time: render per second at most.
    const second = Math.floor(nowMs / 1000);
    return (
      sendText(req, reply, c, `mpd|${second}`, c.timeline.ended ? 'live-ended-playlist' : 'live-mpd', MPD, () =>
        renderLiveMpd(c.timeline, { lowLatency: c.lowLatency, uris, nowMs: second * 1000, timeUrl: '/time', latencyTargetMs: deps.latencyTargetMs }),
      ) ?? noMedia(c)
    );
  });

  app.get<{ Params: RenditionParams; Querystring: Record<string, string | undefined> }>('/live/:channel/:rendition/media.m3u8', async (req, reply) => {
    const c = channelOf(req.params.channel);
    const r = c.timeline.rendition(req.params.rendition);
    if (!r) throw createError('RENDITION_NOT_FOUND', `channel ${c.id} has no rendition ${req.params.rendition.slice(0, 64)}`);
    const q = req.query;
    let msn = directive('_HLS_msn', q._HLS_msn);
    let part = directive('_HLS_part', q._HLS_part);
    const skipRaw = q._HLS_skip;
    if (skipRaw !== undefined && skipRaw !== 'YES' && skipRaw !== 'v2') throw createError('LIVE_BAD_DIRECTIVE', '_HLS_skip must be YES or v2');
    // §6.2.5.2: _HLS_part without _HLS_msn is a Bad Request.
    if (part !== undefined && msn === undefined) throw createError('LIVE_BAD_DIRECTIVE', '_HLS_part needs _HLS_msn');
    const tl = c.timeline;
    // §6.2.5.2: directives are ignored once the playlist has EXT-X-ENDLIST.
    if (tl.ended) msn = part = undefined;
    if (!(await awaitMedia(req, c))) throw createError('CHANNEL_OFFLINE', `channel ${c.id} has no media yet: start a publisher`);
    const blocking = msn !== undefined;
    if (msn !== undefined) {
      const pos = lastPosition(tl, r) ?? { msn: tl.nextMsn - 1, part: 0 };
      // §6.2.5.2: too far ahead → 400 at once, not a hold.
      if (msn > pos.msn + 2) throw createError('LIVE_BAD_DIRECTIVE', `_HLS_msn=${msn} is more than two segments past the last one (${pos.msn})`);
      if (part !== undefined) {
        const perSegment = Math.ceil(tl.config.segmentTargetSec / tl.partTarget);
        const ahead = (msn - pos.msn) * perSegment + part - (pos.part ?? 0);
        if (ahead > advancePartLimit(tl.partTarget)) throw createError('LIVE_BAD_DIRECTIVE', `_HLS_part=${part} of segment ${msn} is beyond the Advance Part Limit`);
      }
      const want = { msn, part };
      const ready = (): boolean => tl.ended || playlistHas(c, r, want);
      if (!(await c.waitFor(ready, holdMs(c), abortOf(req)))) {
        if (req.raw.destroyed) return reply;
        const what = `segment ${msn}${part !== undefined ? ` part ${part}` : ''}`;
        throw createError('LIVE_TIMEOUT', c.isReleased ? 'the origin is shutting down: retry on another one' : `${what} did not appear within ${holdMs(c) / 1000} s`);
      }
    }
    const skip = skipRaw !== undefined;
    const uris = uriOptions(req, c, `${r.id}/`);
    const kind: CacheKind = tl.ended ? 'live-ended-playlist' : blocking ? 'live-media-playlist-blocking' : 'live-media-playlist';
    return sendText(req, reply, c, `${r.id}|${skip}`, kind, M3U8, () => renderLiveMediaPlaylist(tl, r.id, { lowLatency: c.lowLatency, skip, uris })) ?? noMedia(c);
  });

  app.get<{ Params: ObjectParams }>('/live/:channel/:rendition/:object', async (req, reply) => {
    const c = channelOf(req.params.channel);
    const r = c.timeline.rendition(req.params.rendition);
    const obj = parseLiveObject(req.params.object);
    if (!r || !obj) throw createError('NOT_FOUND', `no such live object ${req.params.rendition.slice(0, 64)}/${req.params.object.slice(0, 64)}`);
    const type = r.kind === 'video' ? 'video/mp4' : 'audio/mp4';
    const tl = c.timeline;
    if (obj.kind === 'init') {
      const data = await deps.channels.storedInit(c, r, obj.session);
      if (!data) throw createError('LIVE_NOT_YET', `no init segment for session ${obj.session}`);
      return sendBuffer(req, reply, c, data, `"${c.id}-${r.id}-init-${obj.session}-${data.length}"`, type);
    }
    const find = (): LiveSegment | undefined => r.segments.find((s) => s.msn === obj.msn);
    const first = r.segments[0]?.msn ?? tl.nextMsn;
    if (obj.msn < first) throw createError('SEGMENT_NOT_FOUND', `segment ${obj.msn} left the DVR window (first is ${first})`);
    if (obj.kind === 'part') {
      const { msn, part } = obj;
      const done = (): boolean => {
        const s = find();
        return !!s && (s.complete || tl.completeParts(r, s) > part);
      };
      if (!done()) {
        // Only the next few parts may be held (a preload hint, a player slightly ahead): §6.2.6.
        const pos = lastPosition(tl, r) ?? { msn: tl.nextMsn - 1, part: -1 };
        const perSegment = Math.ceil(tl.config.segmentTargetSec / tl.partTarget);
        const ahead = (msn - pos.msn) * perSegment + part - (pos.part ?? -1);
        if (tl.ended || !c.session || msn > tl.nextMsn || ahead > advancePartLimit(tl.partTarget)) {
          throw createError('LIVE_NOT_YET', `part ${msn}.${part} is not available`);
        }
        if (!(await c.waitFor(done, holdMs(c), abortOf(req)))) {
          if (req.raw.destroyed) return reply;
          throw createError('LIVE_TIMEOUT', c.isReleased ? 'the origin is shutting down: retry on another one' : `part ${msn}.${part} did not appear in time`);
        }
      }
      const s = find()!;
      if (part >= s.parts.length || s.chunks.length === 0) throw createError('NOT_FOUND', `segment ${msn} has no part ${part}`);
      const data = partData(s, part);
      return sendBuffer(req, reply, c, data, `"${c.id}-${r.id}-${msn}.${part}-${data.length}"`, type);
    }
    // A whole segment.
    let s = find();
    if (!s) {
      if (tl.ended || !c.session || obj.msn !== tl.nextMsn) throw createError('LIVE_NOT_YET', `segment ${obj.msn} is not available`);
      // The next segment (DASH players ask for it before it starts, availabilityTimeOffset).
      if (!(await c.waitFor(() => find() !== undefined, holdMs(c), abortOf(req)))) {
        if (req.raw.destroyed) return reply;
        throw createError('LIVE_TIMEOUT', c.isReleased ? 'the origin is shutting down: retry on another one' : `segment ${obj.msn} did not start in time`);
      }
      s = find()!;
    }
    if (s.complete) {
      const data = s.chunks.length ? segmentData(s) : await deps.channels.storedSegment(c, r, s);
      return sendBuffer(req, reply, c, data, `"${c.id}-${r.id}-${s.msn}-${data.length}"`, type);
    }
    // In production: send the chunks as they arrive (chunked transfer; DASH-IF IOP low latency).
    reply.header('Cache-Control', cacheControl('live-media')).type(type);
    if (req.method === 'HEAD') return reply.send(Readable.from([]));
    return reply.send(streamSegment(c, s, abortOf(req)));
  });

  /** Whole-object answer with ETag, conditional and Range handling. */
  function sendBuffer(req: FastifyRequest, reply: FastifyReply, c: Channel, data: Buffer, etag: string, type: string): FastifyReply {
    // The bytes behind a live media URL never change, so any copy since the channel began is current.
    const since = new Date(c.def.epochMs);
    reply.header('Cache-Control', cacheControl('live-media')).header('ETag', etag).header('Last-Modified', since.toUTCString()).header('Accept-Ranges', 'bytes').type(type);
    if (notModified(req.headers, etag, since)) return reply.code(304).send();
    const range = parseRange(req.headers.range, data.length);
    if (range.kind === 'unsatisfiable') {
      reply.header('Content-Range', `bytes */${data.length}`);
      throw createError('INVALID_RANGE', `range ${req.headers.range} is outside the ${data.length}-byte object`);
    }
    if (range.kind === 'partial') {
      reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${data.length}`);
      data = data.subarray(range.start, range.end + 1);
    }
    reply.header('Content-Length', data.length);
    if (req.method === 'HEAD') return reply.send(Readable.from([]));
    return reply.send(data);
  }
}

/** Does the playlist of `r` hold segment `want.msn` (whole, or its part `want.part`)? §6.2.5.2 */
export function playlistHas(c: Channel, r: LiveRendition, want: { msn: number; part?: number }): boolean {
  const tl = c.timeline;
  for (let i = r.segments.length - 1; i >= 0; i--) {
    const s = r.segments[i];
    if (s.msn < want.msn) return false;
    if (s.msn > want.msn) {
      // A later segment: with a part directive any published part of it will do; without, it must be complete.
      if (want.part !== undefined ? tl.completeParts(r, s) > 0 || s.complete : s.complete) return true;
      continue;
    }
    if (want.part === undefined) return s.complete;
    // §6.2.5.2: a part index past the last part of a complete segment means part 0 of the next one.
    if (s.complete && want.part >= s.parts.length) return false;
    return tl.completeParts(r, s) > want.part;
  }
  return false;
}

/** Streams a segment still in production, chunk by chunk, until it completes or the client leaves. */
function streamSegment(c: Channel, s: LiveSegment, signal: AbortSignal): Readable {
  let sent = 0;
  return Readable.from(
    (async function* () {
      for (;;) {
        while (sent < s.chunks.length) yield s.chunks[sent++];
        if (s.complete || signal.aborted) return;
        const more = await c.waitFor(() => s.chunks.length > sent || s.complete, 10_000, signal);
        // Never end a segment response cleanly before the segment is complete (shutdown, stall):
        // the connection is reset instead, so no cache keeps a short copy under its immutable URL.
        if (!more && !s.complete && s.chunks.length === sent) throw new Error(`segment ${s.msn} was not completed`);
      }
    })(),
  );
}
