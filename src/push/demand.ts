/**
 * Demand measured by the origin itself: requests per title and per title rendition, decayed
 * exponentially (a request `halfLife` ago counts half), so `top` pushes follow what viewers watch
 * now. Pure counters plus a JSON form; the service persists it.
 */
export interface DecayedCount { v: number; t: number }

export interface DemandSnapshot { halfLifeMs: number; titles: Record<string, DecayedCount>; renditions: Record<string, Record<string, DecayedCount>> }

/** Counts below this (after decay) are dropped, so forgotten titles do not grow the file forever. */
const FLOOR = 0.01;

export class Demand {
  private titles = new Map<string, DecayedCount>();
  private renditions = new Map<string, Map<string, DecayedCount>>();
  dirty = false;

  constructor(private readonly halfLifeMs: number) {}

  private decayed(c: DecayedCount | undefined, now: number): number {
    if (!c) return 0;
    return c.v * 2 ** (-(now - c.t) / this.halfLifeMs);
  }

  private bump(map: Map<string, DecayedCount>, key: string, now: number): void {
    map.set(key, { v: this.decayed(map.get(key), now) + 1, t: now });
  }

  /** One playback request of a title (a segment of `rendition`, or a manifest when undefined). */
  record(titleId: string, rendition: string | undefined, now = Date.now()): void {
    this.bump(this.titles, titleId, now);
    if (rendition) {
      let m = this.renditions.get(titleId);
      if (!m) this.renditions.set(titleId, (m = new Map()));
      this.bump(m, rendition, now);
    }
    this.dirty = true;
  }

  title(titleId: string, now = Date.now()): number {
    return this.decayed(this.titles.get(titleId), now);
  }

  renditionsOf(titleId: string, now = Date.now()): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [r, c] of this.renditions.get(titleId) ?? []) out[r] = this.decayed(c, now);
    return out;
  }

  forget(titleId: string): void {
    this.titles.delete(titleId);
    this.renditions.delete(titleId);
    this.dirty = true;
  }

  toJSON(now = Date.now()): DemandSnapshot {
    const titles: DemandSnapshot['titles'] = {};
    const renditions: DemandSnapshot['renditions'] = {};
    for (const [id, c] of this.titles) {
      const v = this.decayed(c, now);
      if (v < FLOOR) continue;
      titles[id] = { v, t: now };
      const rs: Record<string, DecayedCount> = {};
      for (const [r, rc] of this.renditions.get(id) ?? []) {
        const rv = this.decayed(rc, now);
        if (rv >= FLOOR) rs[r] = { v: rv, t: now };
      }
      renditions[id] = rs;
    }
    return { halfLifeMs: this.halfLifeMs, titles, renditions };
  }

  /** Restores counts saved by `toJSON` (ignoring malformed entries). */
  load(s: Partial<DemandSnapshot>): void {
    const ok = (c: unknown): c is DecayedCount => !!c && Number.isFinite((c as DecayedCount).v) && Number.isFinite((c as DecayedCount).t);
    for (const [id, c] of Object.entries(s.titles ?? {})) if (ok(c)) this.titles.set(id, c);
    for (const [id, rs] of Object.entries(s.renditions ?? {})) {
      const m = new Map<string, DecayedCount>();
      for (const [r, c] of Object.entries(rs ?? {})) if (ok(c)) m.set(r, c);
      this.renditions.set(id, m);
    }
  }
}
