/**
 * What a push sends, in what order, within a byte budget per edge. Pure: the service gives it the
 * titles (with their objects, as the manifest walk found them) and the demand counts.
 *
 * Selection: explicit titles, the top N by demand, and every upcoming release (a title whose
 * release time is still ahead) — always. Title rank: upcoming releases soonest first, then demand.
 *
 * Order (what a viewer hits on play comes first, the long tail last):
 *   stage 0  manifests and init segments of every selected title (nothing plays without them)
 *   stage 1  the first `headSec` of the renditions players use
 *   stage 2  the rest of the used renditions
 *   stage 3  renditions players (almost) never pick
 * Within a stage, minute by minute across titles (every title's first minute before any title's
 * second), then title rank, then rendition rank. A budget takes objects in that order, skipping an
 * object that does not fit and trying the next (smaller) ones.
 */

export type ObjectKind = 'manifest' | 'init' | 'segment';

export interface PushObject {
  /** Origin-relative URL path, e.g. /vod/film/v1/360p/3.m4s. */
  path: string;
  bytes: number;
  titleId: string;
  kind: ObjectKind;
  rendition?: string;
  /** Media time of a segment and its duration (s). */
  startSec?: number;
  durationSec?: number;
}

export interface TitleSummary {
  id: string;
  version: string;
  /** ISO time; a title whose release is ahead is always pushed. */
  releaseAt?: string;
  /** Decayed request count (the origin's own measure of demand). */
  demand: number;
}

export type SelectReason = 'requested' | 'top' | 'upcoming-release';

export interface SelectedTitle extends TitleSummary { reason: SelectReason }

export interface SelectRequest {
  titles?: string[];
  top?: number;
}

/** Picks and ranks titles. Requested ids that are not ready are the caller's to report. */
export function selectTitles(all: TitleSummary[], req: SelectRequest, now: Date): SelectedTitle[] {
  const byId = new Map(all.map((t) => [t.id, t]));
  const picked = new Map<string, SelectedTitle>();
  const upcoming = (t: TitleSummary): boolean => t.releaseAt !== undefined && Date.parse(t.releaseAt) > now.getTime();
  for (const t of all) if (upcoming(t)) picked.set(t.id, { ...t, reason: 'upcoming-release' });
  for (const id of req.titles ?? []) {
    const t = byId.get(id);
    if (t && !picked.has(id)) picked.set(id, { ...t, reason: 'requested' });
  }
  if (req.top) {
    const ranked = all.filter((t) => t.demand > 0).sort((a, b) => b.demand - a.demand || a.id.localeCompare(b.id));
    for (const t of ranked.slice(0, req.top)) if (!picked.has(t.id)) picked.set(t.id, { ...t, reason: 'top' });
  }
  return [...picked.values()].sort(compareTitles);
}

function compareTitles(a: SelectedTitle, b: SelectedTitle): number {
  const ra = a.reason === 'upcoming-release' ? Date.parse(a.releaseAt!) : Infinity;
  const rb = b.reason === 'upcoming-release' ? Date.parse(b.releaseAt!) : Infinity;
  return ra - rb || b.demand - a.demand || a.id.localeCompare(b.id);
}

export interface TitleObjects {
  title: SelectedTitle;
  objects: PushObject[];
  /** Rendition id → kind, in the order the manifests list them. */
  renditions: Array<{ id: string; kind: 'video' | 'audio' }>;
  /** Rendition id → decayed request count. */
  renditionDemand: Record<string, number>;
}

/**
 * The renditions players use, most used first: audio always; video renditions that together take
 * 90 % of the requests, and any with at least 5 %. With no requests yet (a new release), all of them.
 */
export function usedRenditions(t: Pick<TitleObjects, 'renditions' | 'renditionDemand'>): { ranked: string[]; used: Set<string> } {
  const video = t.renditions.filter((r) => r.kind === 'video');
  const total = video.reduce((n, r) => n + (t.renditionDemand[r.id] ?? 0), 0);
  const ranked = [...video].sort((a, b) => (t.renditionDemand[b.id] ?? 0) - (t.renditionDemand[a.id] ?? 0)).map((r) => r.id);
  const used = new Set(t.renditions.filter((r) => r.kind === 'audio').map((r) => r.id));
  if (total === 0) {
    for (const r of video) used.add(r.id);
  } else {
    let cumulative = 0;
    for (const id of ranked) {
      const share = (t.renditionDemand[id] ?? 0) / total;
      if (cumulative < 0.9 || share >= 0.05) used.add(id);
      cumulative += share;
    }
  }
  const audio = t.renditions.filter((r) => r.kind === 'audio').map((r) => r.id);
  return { ranked: [...audio, ...ranked], used };
}

export interface OrderedObject extends PushObject { stage: 0 | 1 | 2 | 3 }

export function orderObjects(titles: TitleObjects[], headSec: number): OrderedObject[] {
  const keyed: Array<{ o: OrderedObject; key: number[] }> = [];
  titles.forEach((t, titleRank) => {
    const { ranked, used } = usedRenditions(t);
    for (const o of t.objects) {
      const renditionRank = o.rendition ? Math.max(0, ranked.indexOf(o.rendition)) : 0;
      const start = o.startSec ?? 0;
      let stage: OrderedObject['stage'];
      if (o.kind !== 'segment') stage = 0;
      else if (o.rendition && !used.has(o.rendition)) stage = 3;
      else stage = start < headSec ? 1 : 2;
      const minute = stage === 0 ? 0 : Math.floor(start / 60);
      keyed.push({ o: { ...o, stage }, key: [stage, minute, titleRank, renditionRank, start] });
    }
  });
  keyed.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return a.key[i] - b.key[i];
    return a.o.path.localeCompare(b.o.path);
  });
  return keyed.map((k) => k.o);
}

export interface LeftOut {
  titleId: string;
  /** Rendition id, or "manifests" for manifests and init segments. */
  rendition: string;
  fromSec: number;
  toSec: number;
  objects: number;
  bytes: number;
  reason: 'budget';
}

export interface BudgetResult {
  objects: OrderedObject[];
  bytes: number;
  leftOut: LeftOut[];
  bytesLeftOut: number;
  objectsLeftOut: number;
}

/** Takes objects in order while they fit the budget; what stays out is grouped per title and rendition. */
export function applyBudget(ordered: OrderedObject[], budgetBytes: number | undefined): BudgetResult {
  const objects: OrderedObject[] = [];
  const out: OrderedObject[] = [];
  let bytes = 0;
  for (const o of ordered) {
    if (budgetBytes === undefined || bytes + o.bytes <= budgetBytes) {
      objects.push(o);
      bytes += o.bytes;
    } else out.push(o);
  }
  const groups = new Map<string, LeftOut>();
  for (const o of out) {
    const rendition = o.kind === 'segment' ? (o.rendition ?? '') : 'manifests';
    const k = `${o.titleId}\u0000${rendition}`;
    const start = o.startSec ?? 0;
    const end = start + (o.durationSec ?? 0);
    const g = groups.get(k);
    if (g) {
      g.objects++;
      g.bytes += o.bytes;
      g.fromSec = Math.min(g.fromSec, start);
      g.toSec = Math.max(g.toSec, end);
    } else groups.set(k, { titleId: o.titleId, rendition, fromSec: start, toSec: end, objects: 1, bytes: o.bytes, reason: 'budget' });
  }
  return { objects, bytes, leftOut: [...groups.values()], bytesLeftOut: out.reduce((n, o) => n + o.bytes, 0), objectsLeftOut: out.length };
}
