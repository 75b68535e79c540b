/**
 * Pre-positioning: plans (plan-builder.ts), schedules and runs (edge-run.ts) pushes of titles to the
 * configured edges, and has them purged when titles change (purger.ts). A push:
 *   1. at `at`, selects titles (explicit, top N by demand, upcoming releases) and walks their
 *      manifests as the origin serves them (walk.ts) → ordered objects within the budget (planner.ts);
 *      the plan is frozen on disk;
 *   2. runs every edge in parallel, each with its own queue (p-queue: per-edge concurrency) and
 *      bandwidth cap (token bucket), retrying each object with back-off on 5xx/timeouts;
 *   3. records every object that is on an edge and verified (journal), so a push interrupted by a
 *      crash resumes without redoing them;
 *   4. succeeds only if every planned object is verified on every edge; an edge that keeps failing
 *      is marked failed (the others go on).
 * Pushes run one at a time (two pushes would compete for the same edges and origin).
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import PQueue from 'p-queue';
import type { Catalog, Invalidation } from '../catalog/catalog.js';
import type { EdgeConfig } from '../config.js';
import type { TitleTimeline } from '../packager/index.js';
import { createError, type ErrorCode } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { writeFileAtomic } from '../shared/fs-util.js';
import { Demand } from './demand.js';
import type { Edge, OriginFetch } from './edge.js';
import { HttpCacheEdge } from './http-edge.js';
import { S3Edge } from './s3-edge.js';
import { EdgeWorker, WorkerHttpEdge, workerAvailable } from './edge-worker.js';
import { buildPlan } from './plan-builder.js';
import { Purger, type PurgeResult } from './purger.js';
import { isEnded, PushStore, tally, type PushPlan, type PushRecord, type PushRequest } from './push-store.js';
import { runEdge, type EdgeRunEnv } from './edge-run.js';
import { sleep } from '../shared/sleep.js';

export interface PushServiceOptions {
  dataDir: string;
  edges: EdgeConfig[];
  cdnBaseUrls: string[];
  demandHalfLifeHours: number;
  headSec: number;
  maxAttempts: number;
  timeoutMs: number;
  /** Back-off before attempt n+1 is retryBaseMs × 2^(n-1) (± 20 %). */
  retryBaseMs?: number;
  /** Consecutive objects failing on one edge (after their retries) before the edge is given up. */
  edgeFailureLimit?: number;
}

/** Metrics a push feeds (objects per edge and result, bytes per edge). */
export type PushCounters = EdgeRunEnv['counters'];

export interface PushInput extends PushRequest {
  at?: string;
  releaseAt?: string;
}

/** The public Push (INTERFACE.md), with failures per edge. */
export type PushView = Omit<PushRecord, 'request' | 'runs'> & { request: PushRequest };


export class PushService {
  readonly demand: Demand;
  private readonly store: PushStore;
  private readonly edges = new Map<string, Edge>();
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly running = new Map<string, AbortController>();
  private readonly queued = new Set<string>();
  private ticker?: NodeJS.Timeout;
  private demandTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly purger: Purger;
  private readonly demandFile: string;
  private readonly worker?: EdgeWorker;

  constructor(
    private readonly opts: PushServiceOptions,
    private readonly catalog: Catalog,
    private readonly origin: OriginFetch,
    private readonly log: Logger,
    private readonly counters: PushCounters = { object: () => undefined, bytes: () => undefined },
    /** Query a playback URL needs (a token when signed playback is required), per title. */
    private readonly playbackQuery: (titleId: string) => string | undefined = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.store = new PushStore(join(opts.dataDir, 'pushes'));
    this.demand = new Demand(opts.demandHalfLifeHours * 3600_000);
    this.demandFile = join(opts.dataDir, 'demand.json');
    // http-cache edges run in a worker thread when the compiled worker is there (always, in a build).
    const httpEdges = opts.edges.filter((e) => e.kind === 'http-cache');
    this.worker = httpEdges.length && workerAvailable() ? new EdgeWorker(httpEdges) : undefined;
    for (const e of opts.edges) this.edges.set(e.name, e.kind === 's3' ? new S3Edge(e, origin) : this.worker ? new WorkerHttpEdge(e, this.worker) : new HttpCacheEdge(e));
    this.purger = new Purger(this.edges.values(), { timeoutMs: opts.timeoutMs, maxAttempts: opts.maxAttempts, retryBaseMs: opts.retryBaseMs ?? 500 }, log);
    catalog.onInvalidate((i) => this.invalidate(i));
  }

  get edgeConfigs(): EdgeConfig[] {
    return this.opts.edges;
  }

  async start(): Promise<void> {
    try {
      this.demand.load(JSON.parse(await readFile(this.demandFile, 'utf8')));
    } catch {
      // no demand recorded yet
    }
    this.demandTimer = setInterval(() => void this.saveDemand(), 10_000).unref();
    for (const r of await this.store.load()) {
      if (r.status === 'running') {
        this.log.info({ push: r.id }, 'resuming a push interrupted by a restart');
        this.enqueue(r);
      }
    }
    this.worker?.start();
    this.tick();
    this.ticker = setInterval(() => this.tick(), 1000).unref();
  }

  private async saveDemand(): Promise<void> {
    if (!this.demand.dirty) return;
    this.demand.dirty = false;
    await writeFileAtomic(this.demandFile, JSON.stringify(this.demand.toJSON(this.now().getTime()))).catch((err: unknown) => this.log.warn({ err }, 'saving demand counts failed'));
  }

  /** Starts scheduled pushes whose time has come; a missed one runs if its release is still ahead. */
  private tick(): void {
    const now = this.now().getTime();
    for (const r of this.store.all()) {
      if (r.status !== 'scheduled' || this.queued.has(r.id) || Date.parse(r.at) > now) continue;
      if (r.releaseAt && Date.parse(r.releaseAt) <= now) {
        void this.finish(r, 'failed', { code: 'PUSH_MISSED', message: `the push was due at ${r.at} but the server was down; its release (${r.releaseAt}) has passed` });
        continue;
      }
      this.enqueue(r);
    }
  }

  private enqueue(r: PushRecord): void {
    this.queued.add(r.id);
    void this.queue
      .add(() => this.run(r))
      .catch((err: unknown) => this.log.error({ err, push: r.id }, 'push run failed'))
      .finally(() => this.queued.delete(r.id));
  }

  // ---------------------------------------------------------------- planning

  private edgesOf(names: string[]): Edge[] {
    if (this.edges.size === 0) throw createError('NO_EDGES', 'no edges are configured (CASCADE_EDGES)');
    if (names.length === 0) throw createError('INVALID_REQUEST', 'edges: name at least one edge, or "all"');
    if (names.includes('all')) return [...this.edges.values()];
    return names.map((n) => {
      const e = this.edges.get(n);
      if (!e) throw createError('EDGE_NOT_FOUND', `no edge ${JSON.stringify(n)}; configured: ${[...this.edges.keys()].join(', ')}`);
      return e;
    });
  }

  /** What a push would send where (a dry run; also the plan a push freezes when it starts). */
  async plan(req: PushRequest): Promise<PushPlan> {
    const edges = this.edgesOf(req.edges);
    const { catalog, origin, demand, playbackQuery } = this;
    return buildPlan({ catalog, origin, demand, playbackQuery, cdnBaseUrls: this.opts.cdnBaseUrls, headSec: this.opts.headSec }, req, edges, this.now());
  }

  // ---------------------------------------------------------------- API

  async create(input: PushInput): Promise<PushView> {
    const now = this.now();
    const at = input.at ?? now.toISOString();
    const edges = this.edgesOf(input.edges);
    const request: PushRequest = {
      ...(input.titles ? { titles: input.titles } : {}),
      ...(input.top ? { top: input.top } : {}),
      edges: edges.map((e) => e.config.name),
      ...(input.budgetBytesPerEdge !== undefined ? { budgetBytesPerEdge: input.budgetBytesPerEdge } : {}),
    };
    // Planned now to refuse an empty or impossible push at once (and to show its size).
    const preview = await this.plan(request);
    if (preview.objects.length === 0) throw createError('PUSH_NOTHING_SELECTED', preview.titles.length ? 'the budget does not fit a single object' : 'no title matches: name titles, or use top with titles that have been watched, or set a release time');
    let releaseAt = input.releaseAt;
    if (!releaseAt) {
      const releases = preview.titles.map((t) => t.releaseAt).filter((r): r is string => !!r && Date.parse(r) > now.getTime());
      if (releases.length) releaseAt = releases.sort()[0];
    }
    const r: PushRecord = {
      id: newId('push_', now.getTime()),
      status: 'scheduled',
      at,
      ...(releaseAt ? { releaseAt } : {}),
      createdAt: now.toISOString(),
      request,
      titles: preview.titles.map((t) => ({ id: t.id, version: t.version, reason: t.reason })),
      ...this.totals(preview, edges),
      runs: 0,
    };
    // A push for now runs on this plan; a scheduled one is planned again when it starts (demand moves).
    if (Date.parse(at) <= now.getTime()) await this.store.savePlan(r.id, preview);
    await this.store.save(r);
    this.log.info({ push: r.id, at, objects: preview.objects.length, bytes: preview.bytes, edges: request.edges }, 'push scheduled');
    this.tick();
    return this.view(r);
  }

  private totals(plan: PushPlan, edges: Edge[]): Pick<PushRecord, 'objectsTotal' | 'bytesTotal' | 'objectsDone' | 'bytesDone' | 'edges'> {
    return {
      objectsTotal: plan.objects.length * edges.length,
      bytesTotal: plan.bytes * edges.length,
      objectsDone: 0,
      bytesDone: 0,
      edges: edges.map((e) => ({ name: e.config.name, kind: e.config.kind, objectsTotal: plan.objects.length, bytesTotal: plan.bytes, objectsDone: 0, bytesDone: 0, objectsPresent: 0, objectsFailed: 0, failed: false, failures: [] })),
    };
  }

  list(): PushView[] {
    return this.store.all().map((r) => this.view(r));
  }

  get(id: string): PushView {
    const r = this.store.get(id);
    if (!r) throw createError('PUSH_NOT_FOUND', `no push ${id}`);
    return this.view(r);
  }

  async frozenPlan(id: string): Promise<PushPlan> {
    this.get(id);
    const p = await this.store.plan(id);
    if (!p) throw createError('PUSH_NOT_FOUND', `push ${id} has not started: it is planned when it runs (POST /api/v1/pushes/plan shows a preview)`);
    return p;
  }

  async cancel(id: string): Promise<PushView> {
    const r = this.store.get(id);
    if (!r) throw createError('PUSH_NOT_FOUND', `no push ${id}`);
    if (isEnded(r.status)) throw createError('PUSH_NOT_CANCELABLE', `push ${id} has already ${r.status}`);
    const ctl = this.running.get(id);
    if (ctl) {
      ctl.abort(createError('PUSH_CANCELED', 'canceled'));
      // The run ends at once (in-flight requests are aborted) and records the cancel.
      await this.waitEnd(id);
    } else {
      await this.finish(r, 'canceled');
    }
    return this.view(this.store.get(id)!);
  }

  private async waitEnd(id: string): Promise<void> {
    for (let i = 0; i < 300 && !isEnded(this.store.get(id)!.status); i++) await sleep(20);
  }

  private view(r: PushRecord): PushView {
    const { runs: _runs, ...rest } = tally(r);
    return rest;
  }

  get activeCount(): number {
    return this.running.size;
  }

  /** Progress of the running pushes per edge, for /metrics: [labels, value] pairs. */
  progress(): Array<[Record<string, string>, number]> {
    const out: Array<[Record<string, string>, number]> = [];
    for (const id of this.running.keys()) {
      const r = this.store.get(id);
      for (const e of r?.edges ?? []) out.push([{ push: id, edge: e.name }, e.objectsTotal ? Math.round((e.objectsDone / e.objectsTotal) * 1000) / 1000 : 0]);
    }
    return out;
  }

  // ---------------------------------------------------------------- running

  private async finish(r: PushRecord, status: 'succeeded' | 'failed' | 'canceled', error?: { code: ErrorCode; message: string }): Promise<void> {
    r.status = status;
    r.finishedAt = this.now().toISOString();
    if (error) r.error = error;
    await this.store.save(r);
    await this.store.compact(r.id, r.edges.map((e) => e.name));
    this.log.info({ push: r.id, status, objectsDone: r.objectsDone, objectsTotal: r.objectsTotal, error }, 'push ended');
  }

  private async run(r: PushRecord): Promise<void> {
    if (this.closed || isEnded(r.status)) return;
    const ctl = new AbortController();
    this.running.set(r.id, ctl);
    try {
      r.runs = (r.runs ?? 0) + 1;
      // The frozen plan: a resumed push's, or the one an immediate push was created with.
      let plan = await this.store.plan(r.id);
      r.status = 'running';
      r.startedAt ??= this.now().toISOString();
      let edges: Edge[];
      try {
        edges = this.edgesOf(r.request.edges);
        if (!plan) {
          plan = await this.plan(r.request);
          await this.store.savePlan(r.id, plan);
          r.titles = plan.titles.map((t) => ({ id: t.id, version: t.version, reason: t.reason }));
          Object.assign(r, this.totals(plan, edges));
        }
      } catch (err) {
        const e = err as { code?: ErrorCode; message: string };
        return await this.finish(r, 'failed', { code: e.code ?? 'INTERNAL', message: e.message });
      }
      if (plan.objects.length === 0) return await this.finish(r, 'failed', { code: 'PUSH_NOTHING_SELECTED', message: 'nothing to push when the push started' });
      await this.store.save(r);
      this.log.info({ push: r.id, run: r.runs, objects: plan.objects.length, bytes: plan.bytes, edges: r.request.edges }, 'push running');
      let saving: Promise<void> | undefined;
      let dirty = false;
      const flush = (): void => {
        dirty = true;
        saving ??= sleep(500)
          .then(() => {
            dirty = false;
            return this.store.save(r);
          })
          .catch((err: unknown) => this.log.warn({ err, push: r.id }, 'saving push progress failed'))
          .finally(() => {
            saving = undefined;
            if (dirty) flush();
          });
      };
      const env: EdgeRunEnv = {
        store: this.store,
        maxAttempts: this.opts.maxAttempts,
        timeoutMs: this.opts.timeoutMs,
        retryBaseMs: this.opts.retryBaseMs ?? 500,
        edgeFailureLimit: this.opts.edgeFailureLimit,
        closing: () => this.closed,
        counters: this.counters,
        playbackQuery: this.playbackQuery,
        log: this.log,
      };
      await Promise.all(edges.map((e) => runEdge(env, r.id, plan!, e, r.edges.find((p) => p.name === e.config.name)!, ctl.signal, flush)));
      await saving;
      if (this.closed) return await this.store.save(r); // stays running: resumed at the next start
      if (ctl.signal.aborted) return await this.finish(r, 'canceled');
      const failed = r.edges.filter((e) => e.failed || e.objectsDone < e.objectsTotal);
      if (failed.length) return await this.finish(r, 'failed', { code: 'PUSH_EDGE_FAILED', message: `not every object is on ${failed.map((e) => e.name).join(', ')} (see edges[].failures)` });
      return await this.finish(r, 'succeeded');
    } finally {
      this.running.delete(r.id);
    }
  }

  // ---------------------------------------------------------------- invalidation

  /** Purges a title's objects (given versions, or every stored one) from every edge. */
  purge(titleId: string, versions: TitleTimeline[], aliases: boolean): Promise<PurgeResult[]> {
    return this.purger.purge(titleId, versions, aliases);
  }

  /** Catalog changes: the edges are purged in the background, and a deleted title's demand forgotten. */
  private invalidate(i: Invalidation): void {
    if (this.closed || this.edges.size === 0) return;
    if (i.deleted) this.demand.forget(i.titleId);
    this.purger.invalidated(i);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.demandTimer) clearInterval(this.demandTimer);
    // Running pushes stop where they are and stay `running`: the next start resumes them.
    for (const ctl of this.running.values()) ctl.abort(new Error('server closing'));
    this.queue.clear();
    await Promise.race([this.queue.onIdle(), sleep(5000)]);
    await this.purger.close();
    await this.saveDemand();
    for (const e of this.edges.values()) e.close();
    await this.worker?.close();
  }
}

