/**
 * Builds a push plan: reads the catalog (every title's current version and release time), selects
 * titles (planner.ts), walks their manifests as the origin serves them (walk.ts) and orders the
 * objects within the budget (planner.ts). The I/O half of planning; the decisions are pure.
 */
import PQueue from 'p-queue';
import type { Catalog } from '../catalog/catalog.js';
import type { TitleTimeline } from '../packager/index.js';
import { createError } from '../shared/errors.js';
import type { Demand } from './demand.js';
import type { Edge, OriginFetch } from './edge.js';
import { applyBudget, orderObjects, selectTitles, type TitleObjects, type TitleSummary } from './planner.js';
import type { PushPlan, PushRequest } from './push-store.js';
import { walkTitle } from './walk.js';

export interface PlanSources {
  catalog: Catalog;
  origin: OriginFetch;
  demand: Demand;
  /** Query a playback URL needs (a token when signed playback is required), per title. */
  playbackQuery: (titleId: string) => string | undefined;
  cdnBaseUrls: string[];
  headSec: number;
}

export async function buildPlan(src: PlanSources, req: PushRequest, edges: Edge[], now: Date): Promise<PushPlan> {
  const summaries: TitleSummary[] = [];
  const timelines = new Map<string, TitleTimeline>();
  // Two small reads per title (pointer, release); on an object store with thousands of titles they
  // go 16 at a time, not one after the other.
  const reads = new PQueue({ concurrency: 16 });
  await reads.addAll(
    (await src.catalog.listIds()).map((id) => async () => {
      const [t, releaseAt] = await Promise.all([src.catalog.currentTimeline(id), src.catalog.release(id)]);
      if (!t) return;
      timelines.set(id, t);
      summaries.push({ id, version: t.version, releaseAt, demand: src.demand.title(id, now.getTime()) });
    }),
  );
  const missing = (req.titles ?? []).filter((id) => !timelines.has(id));
  if (missing.length) throw createError('TITLE_NOT_FOUND', `not ready to push (no published version): ${missing.join(', ')}`);
  const selected = selectTitles(summaries, req, now);
  const walked: TitleObjects[] = [];
  for (const title of selected) {
    const query = src.playbackQuery(title.id);
    const get = async (method: 'GET' | 'HEAD', path: string) => {
      const r = await src.origin(method, query ? `${path}?${query}` : path);
      if (r.status !== 200) throw createError('PUSH_ORIGIN_FAILED', `${method} ${path} on the origin answered ${r.status}`);
      return r;
    };
    const w = await walkTitle(
      {
        text: async (path) => (await get('GET', path)).body.toString('utf8'),
        size: async (path) => Number((await get('HEAD', path)).headers['content-length'] ?? 0),
      },
      timelines.get(title.id)!,
      src.cdnBaseUrls,
    );
    walked.push({ title, objects: w.objects, renditions: w.renditions, renditionDemand: src.demand.renditionsOf(title.id, now.getTime()) });
  }
  const budget = applyBudget(orderObjects(walked, src.headSec), req.budgetBytesPerEdge);
  return {
    titles: selected.map((t) => ({ id: t.id, version: t.version, reason: t.reason, demand: Math.round(t.demand * 100) / 100, ...(t.releaseAt ? { releaseAt: t.releaseAt } : {}) })),
    ...(req.budgetBytesPerEdge !== undefined ? { budgetBytesPerEdge: req.budgetBytesPerEdge } : {}),
    objects: budget.objects,
    bytes: budget.bytes,
    edges: edges.map((e) => ({ name: e.config.name, kind: e.config.kind, objects: budget.objects.length, bytes: budget.bytes })),
    leftOut: budget.leftOut,
    objectsLeftOut: budget.objectsLeftOut,
    bytesLeftOut: budget.bytesLeftOut,
  };
}
