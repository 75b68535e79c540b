/** Admin API (INTERFACE.md): titles, jobs and live channels. Bearer-token protected. */
import type { FastifyInstance } from 'fastify';
import type { Catalog } from '../../catalog/catalog.js';
import type { IngestService, Job } from '../../ingest/index.js';
import { createError } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';
import { cacheControl } from '../cache-policy.js';
import { playbackUrls } from './playback.js';
import { livePlaybackUrls } from './live.js';
import type { Channel, ChannelOptions, ChannelService, ChannelView } from '../../ingest/live/channel-service.js';
import { channelPrefix, signToken, titlePrefix, type SigningKey } from '../signed-urls.js';
import { PushService, type PushInput } from '../../push/push-service.js';

export interface ApiDeps {
  catalog: Catalog;
  ingest: IngestService;
  checkAuth: (req: import('fastify').FastifyRequest) => Promise<void>;
  signing: { keys: SigningKey[]; required: boolean; ttlSec: number };
  channels?: ChannelService;
  pushes?: PushService;
  now: () => Date;
}

/** Validates a push body (POST /api/v1/pushes and .../plan). */
function pushInput(body: unknown, withTime: boolean): PushInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw createError('INVALID_REQUEST', 'the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const known = ['titles', 'top', 'edges', 'budgetBytesPerEdge', ...(withTime ? ['at', 'releaseAt'] : [])];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length) throw createError('INVALID_REQUEST', `unknown field(s) ${unknown.join(', ')}; expected ${known.join(', ')}`);
  const out: PushInput = { edges: ['all'] };
  if (b.titles !== undefined) {
    if (!Array.isArray(b.titles) || b.titles.length > 10_000 || !b.titles.every((t) => typeof t === 'string')) throw createError('INVALID_REQUEST', 'titles must be an array of title ids');
    out.titles = [...new Set((b.titles as string[]).map((t) => validateId(t, 'title id')))];
  }
  if (b.top !== undefined) {
    if (!Number.isInteger(b.top) || (b.top as number) < 1 || (b.top as number) > 10_000) throw createError('INVALID_REQUEST', 'top must be an integer from 1 to 10000');
    out.top = b.top as number;
  }
  if (b.edges !== undefined) {
    const list = typeof b.edges === 'string' ? b.edges.split(',').map((e) => e.trim()).filter(Boolean) : b.edges;
    if (!Array.isArray(list) || list.length === 0 || !list.every((e) => typeof e === 'string')) throw createError('INVALID_REQUEST', 'edges must be edge names (an array, a comma-separated string, or "all")');
    out.edges = [...new Set(list as string[])];
  }
  if (b.budgetBytesPerEdge !== undefined) {
    if (!Number.isSafeInteger(b.budgetBytesPerEdge) || (b.budgetBytesPerEdge as number) < 1) throw createError('INVALID_REQUEST', 'budgetBytesPerEdge must be a positive integer (bytes)');
    out.budgetBytesPerEdge = b.budgetBytesPerEdge as number;
  }
  for (const k of ['at', 'releaseAt'] as const) {
    if (b[k] === undefined) continue;
    if (typeof b[k] !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(b[k] as string) || Number.isNaN(Date.parse(b[k] as string))) throw createError('INVALID_REQUEST', `${k} must be an ISO-8601 time like 2026-11-22T21:00:00Z`);
    out[k] = new Date(b[k] as string).toISOString();
  }
  if (!out.titles && !out.top) out.top = undefined;
  return out;
}

type SignedPlayback = { hls: string; dash: string; token?: string; expiresAt?: string };

/** Signs a pair of playback URLs under `prefix` (a title's or a channel's) for `ttlSec`. */
function sign(deps: ApiDeps, urls: { hls: string; dash: string }, prefix: string, ttlSec: number): SignedPlayback {
  const exp = Math.floor(deps.now().getTime() / 1000) + ttlSec;
  const token = signToken(deps.signing.keys, prefix, exp);
  return { hls: `${urls.hls}?token=${token}`, dash: `${urls.dash}?token=${token}`, token, expiresAt: new Date(exp * 1000).toISOString() };
}

/** Playback URLs of a title version, signed (for `ttlSec`) when signed playback is on or asked for. */
function playbackFor(deps: ApiDeps, id: string, version: string, signed: boolean, ttlSec = deps.signing.ttlSec): SignedPlayback {
  const urls = playbackUrls(id, version);
  return signed ? sign(deps, urls, titlePrefix(id), ttlSec) : urls;
}

/** The lifetime asked for a playback token (60 s – 30 days). */
function tokenTtl(deps: ApiDeps, body: { ttlSec?: number } | undefined): number {
  if (deps.signing.keys.length === 0) throw createError('SIGNING_NOT_CONFIGURED', 'set CASCADE_SIGNING_KEYS to issue playback tokens');
  const ttl = body?.ttlSec ?? deps.signing.ttlSec;
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > 30 * 24 * 3600) throw createError('INVALID_REQUEST', 'ttlSec must be an integer from 60 to 2592000');
  return ttl;
}

export interface TitleView {
  id: string;
  status: 'processing' | 'ready' | 'failed';
  version?: string;
  durationSec: number;
  renditions: Array<{ id: string; kind: 'video' | 'audio'; codecs: string; bandwidth: number; averageBandwidth: number; width?: number; height?: number; frameRate?: number; channels?: number; sampleRate?: number }>;
  playback: { hls: string; dash: string } | null;
  publishedAt?: string;
  /** Release time: pushes always include titles whose release is ahead. */
  releaseAt?: string;
  /** The newest job of the title, when one is queued or running or the last one failed. */
  job?: Job;
  error?: { code: string; message: string };
}

async function titleView(deps: ApiDeps, id: string): Promise<TitleView | undefined> {
  const timeline = await deps.catalog.currentTimeline(id);
  const jobs = deps.ingest.jobsOfTitle(id);
  const latest = jobs[jobs.length - 1];
  const active = jobs.find((j) => j.status === 'queued' || j.status === 'running');
  if (timeline) {
    return {
      id,
      status: 'ready',
      version: timeline.version,
      durationSec: timeline.durationSec,
      renditions: timeline.renditions.map((r) => ({
        id: r.id,
        kind: r.kind,
        codecs: r.codecs,
        bandwidth: r.bandwidth.peak,
        averageBandwidth: r.bandwidth.average,
        ...(r.width !== undefined ? { width: r.width, height: r.height } : {}),
        ...(r.frameRate ? { frameRate: Math.round((r.frameRate[0] / r.frameRate[1]) * 1000) / 1000 } : {}),
        ...(r.channels !== undefined ? { channels: r.channels, sampleRate: r.sampleRate } : {}),
      })),
      playback: playbackFor(deps, id, timeline.version, deps.signing.required),
      publishedAt: timeline.publishedAt,
      ...(await deps.catalog.release(id).then((releaseAt) => (releaseAt ? { releaseAt } : {}))),
      ...(active ? { job: active } : {}),
    };
  }
  if (!latest) return undefined;
  if (active) return { id, status: 'processing', durationSec: 0, renditions: [], playback: null, job: active };
  return { id, status: 'failed', durationSec: 0, renditions: [], playback: null, job: latest, error: latest.error ?? { code: 'JOB_CANCELED', message: 'the last job was canceled' } };
}

export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      reply.header('Cache-Control', cacheControl('api'));
      await deps.checkAuth(req);
    });

    // The master arrives as the raw body, streamed to disk: no parser may buffer it.
    api.register(async (upload) => {
      upload.removeAllContentTypeParsers();
      upload.addContentTypeParser('*', (_req, _payload, done) => done(null));
      upload.put<{ Params: { id: string }; Querystring: { ladder?: string } }>('/api/v1/titles/:id/source', async (req, reply) => {
        validateId(req.params.id, 'title id');
        const len = req.headers['content-length'];
        try {
          const job = await deps.ingest.submitUpload(req.params.id, req.raw, {
            contentLength: len !== undefined ? Number(len) : undefined,
            ladder: req.query.ladder ?? (req.headers['x-cascade-ladder'] as string | undefined),
          });
          return reply.code(202).header('Location', `/api/v1/jobs/${job.id}`).send({ job });
        } catch (err) {
          if (!req.raw.complete) {
            // The rest of a refused body is not stored, and the connection cannot be reused. It is
            // read and dropped for a moment (lingering close) so that the client, still sending,
            // receives the answer instead of a reset.
            reply.header('Connection', 'close');
            req.raw.resume();
            setTimeout(() => req.raw.socket?.destroy(), 2000).unref();
          }
          throw err;
        }
      });
    });

    api.get<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req) => {
      const job = deps.ingest.get(req.params.id);
      if (!job) throw createError('JOB_NOT_FOUND', `no job ${req.params.id}`);
      return job;
    });
    api.get('/api/v1/jobs', async () => ({ jobs: deps.ingest.list() }));
    api.delete<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req) => {
      if (!deps.ingest.get(req.params.id)) throw createError('JOB_NOT_FOUND', `no job ${req.params.id}`);
      return deps.ingest.cancel(req.params.id);
    });

    api.get<{ Params: { id: string } }>('/api/v1/titles/:id', async (req) => {
      validateId(req.params.id, 'title id');
      const view = await titleView(deps, req.params.id);
      if (!view) throw createError('TITLE_NOT_FOUND', `no title ${req.params.id}`);
      return view;
    });
    // A signed playback URL pair for one viewer (any lifetime from 60 s to 30 days).
    api.post<{ Params: { id: string }; Body: { ttlSec?: number } | undefined }>('/api/v1/titles/:id/playback-token', async (req) => {
      validateId(req.params.id, 'title id');
      const ttl = tokenTtl(deps, req.body);
      const current = await deps.catalog.current(req.params.id);
      if (!current) throw createError('TITLE_NOT_FOUND', `no title ${req.params.id}`);
      return playbackFor(deps, req.params.id, current.version, true, ttl);
    });

    api.get('/api/v1/titles', async () => {
      const ids = new Set([...(await deps.catalog.listIds()), ...deps.ingest.list().map((j) => j.titleId)]);
      const titles = [];
      for (const id of [...ids].sort()) {
        const v = await titleView(deps, id);
        if (v) titles.push(v);
      }
      return { titles };
    });
    api.delete<{ Params: { id: string } }>('/api/v1/titles/:id', async (req, reply) => {
      validateId(req.params.id, 'title id');
      const known = (await titleView(deps, req.params.id)) !== undefined;
      if (!known) throw createError('TITLE_NOT_FOUND', `no title ${req.params.id}`);
      await deps.ingest.forgetTitle(req.params.id);
      await deps.catalog.delete(req.params.id);
      return reply.code(204).send();
    });

    // Live channels (INTERFACE.md): PUT creates or updates, DELETE stops and removes; POST .../stop ends
    // the presentation but keeps the channel and its window.
    const channels = deps.channels;
    if (channels) {
      // With signed playback on, a channel's playback URLs carry a token for its /live/{id}/ prefix.
      const view = (c: Channel): ChannelView =>
        channels.view(c, deps.signing.required ? sign(deps, livePlaybackUrls(c.id), channelPrefix(c.id), deps.signing.ttlSec) : livePlaybackUrls(c.id));
      api.post<{ Params: { id: string }; Body: { ttlSec?: number } | undefined }>('/api/v1/channels/:id/playback-token', async (req) => {
        const c = channels.require(req.params.id);
        return sign(deps, livePlaybackUrls(c.id), channelPrefix(c.id), tokenTtl(deps, req.body));
      });
      api.put<{ Params: { id: string }; Body: ChannelOptions | undefined }>('/api/v1/channels/:id', async (req, reply) => {
        const body = req.body ?? {};
        if (typeof body !== 'object' || Array.isArray(body)) throw createError('INVALID_REQUEST', 'the body must be a JSON object');
        const { channel, created } = await channels.put(req.params.id, body);
        return reply.code(created ? 201 : 200).header('Location', `/api/v1/channels/${channel.id}`).send(view(channel));
      });
      api.get('/api/v1/channels', async () => ({ channels: channels.list().map(view) }));
      api.get<{ Params: { id: string } }>('/api/v1/channels/:id', async (req) => view(channels.require(req.params.id)));
      api.post<{ Params: { id: string } }>('/api/v1/channels/:id/stop', async (req) => view(await channels.stop(req.params.id)));
      api.delete<{ Params: { id: string } }>('/api/v1/channels/:id', async (req, reply) => {
        await channels.remove(req.params.id);
        return reply.code(204).send();
      });
    }

    if (!channels) {
      for (const path of ['/api/v1/channels', '/api/v1/channels/*']) {
        api.all(path, async () => {
          throw createError('LIVE_DISABLED', 'live ingest is off on this origin (CASCADE_LIVE=off): use the origin that runs live');
        });
      }
    }

    // Release time of a title (pushes always include upcoming releases); null clears it.
    api.put<{ Params: { id: string }; Body: { releaseAt?: string | null } | undefined }>('/api/v1/titles/:id/release', async (req) => {
      validateId(req.params.id, 'title id');
      const at = req.body?.releaseAt;
      if (at !== null && (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || !/^\d{4}-\d\d-\d\dT/.test(at))) throw createError('INVALID_REQUEST', 'releaseAt must be an ISO-8601 time, or null to clear it');
      if (!(await titleView(deps, req.params.id))) throw createError('TITLE_NOT_FOUND', `no title ${req.params.id}`);
      await deps.catalog.setRelease(req.params.id, at === null ? undefined : new Date(at).toISOString());
      return titleView(deps, req.params.id);
    });

    // Pre-positioning (INTERFACE.md): plan (dry run), schedule/run, read, list, cancel; purge a title.
    const pushes = deps.pushes;
    const requirePushes = (): PushService => {
      if (!pushes) throw createError('NO_EDGES', 'no edges are configured (CASCADE_EDGES)');
      return pushes;
    };
    api.post<{ Body: unknown }>('/api/v1/pushes/plan', async (req) => requirePushes().plan(pushInput(req.body ?? {}, false)));
    api.post<{ Body: unknown }>('/api/v1/pushes', async (req, reply) => {
      const push = await requirePushes().create(pushInput(req.body ?? {}, true));
      return reply.code(201).header('Location', `/api/v1/pushes/${push.id}`).send(push);
    });
    api.get('/api/v1/pushes', async () => ({ pushes: pushes?.list() ?? [], edges: pushes?.edgeConfigs.map((e) => ({ name: e.name, kind: e.kind })) ?? [] }));
    api.get<{ Params: { id: string } }>('/api/v1/pushes/:id', async (req) => requirePushes().get(req.params.id));
    api.get<{ Params: { id: string } }>('/api/v1/pushes/:id/plan', async (req) => requirePushes().frozenPlan(req.params.id));
    api.delete<{ Params: { id: string } }>('/api/v1/pushes/:id', async (req) => requirePushes().cancel(req.params.id));
    api.post<{ Params: { id: string } }>('/api/v1/titles/:id/purge', async (req) => {
      validateId(req.params.id, 'title id');
      const p = requirePushes();
      const versions = [];
      const cur = await deps.catalog.current(req.params.id, true);
      if (!cur) throw createError('TITLE_NOT_FOUND', `no title ${req.params.id}`);
      const t = await deps.catalog.timeline(req.params.id, cur.version);
      if (t) versions.push(t);
      return { edges: await p.purge(req.params.id, versions, true) };
    });
  });
}
