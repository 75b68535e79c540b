/**
 * Pushes persisted under {dataDir}/pushes, so a schedule survives a restart and a push resumes:
 *   {id}.json          the record (status, progress per edge), rewritten atomically
 *   {id}.plan.json     the plan frozen when the push started (what goes where, in order)
 *   {id}.{edge}.done   one line per object already on that edge (appended as each one lands)
 */
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TMP_MARK, writeFileAtomic } from '../shared/fs-util.js';
import type { ErrorCode } from '../shared/errors.js';
import type { LeftOut, OrderedObject, SelectReason } from './planner.js';

export type PushStatus = 'scheduled' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface PushRequest {
  titles?: string[];
  top?: number;
  edges: string[];
  budgetBytesPerEdge?: number;
}

export interface EdgeFailure { path: string; code: string; message: string }

export interface EdgeProgress {
  name: string;
  kind: 'http-cache' | 's3';
  objectsTotal: number;
  bytesTotal: number;
  objectsDone: number;
  bytesDone: number;
  /** Objects the edge already had (counted in objectsDone, not in bytesDone). */
  objectsPresent: number;
  objectsFailed: number;
  failed: boolean;
  error?: { code: string; message: string };
  /** The first failures (at most 20). */
  failures: EdgeFailure[];
}

export interface PushRecord {
  id: string;
  status: PushStatus;
  /** When it runs (ISO). */
  at: string;
  /** A push still scheduled after this time (a server down at `at`) does not run. */
  releaseAt?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  request: PushRequest;
  titles: Array<{ id: string; version: string; reason: SelectReason }>;
  /** Over all edges (an object pushed to three edges counts three times). */
  objectsTotal: number;
  objectsDone: number;
  bytesTotal: number;
  bytesDone: number;
  edges: EdgeProgress[];
  error?: { code: ErrorCode; message: string };
  /** Runs of this push (a restart mid-push adds one). */
  runs: number;
}

export interface PushPlan {
  titles: Array<{ id: string; version: string; reason: SelectReason; demand: number; releaseAt?: string }>;
  budgetBytesPerEdge?: number;
  /** The same objects go to every edge of the push, in this order. */
  objects: OrderedObject[];
  bytes: number;
  edges: Array<{ name: string; kind: 'http-cache' | 's3'; objects: number; bytes: number }>;
  leftOut: LeftOut[];
  objectsLeftOut: number;
  bytesLeftOut: number;
}

/** The push's totals are the sums of its edges' (kept in the record for readers of the file). */
export function tally(r: PushRecord): PushRecord {
  r.objectsDone = r.edges.reduce((n, e) => n + e.objectsDone, 0);
  r.bytesDone = r.edges.reduce((n, e) => n + e.bytesDone, 0);
  return r;
}

export const isEnded = (s: PushStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'canceled';

export class PushStore {
  private readonly records = new Map<string, PushRecord>();
  constructor(private readonly dir: string) {}

  async load(): Promise<PushRecord[]> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (name.includes(TMP_MARK)) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      if (!/^[^.]+\.json$/.test(name)) continue;
      try {
        const r = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as PushRecord;
        this.records.set(r.id, r);
      } catch {
        await rm(join(this.dir, name), { force: true });
      }
    }
    return this.all();
  }

  get(id: string): PushRecord | undefined {
    return this.records.get(id);
  }

  all(): PushRecord[] {
    return [...this.records.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async save(r: PushRecord): Promise<void> {
    this.records.set(r.id, tally(r));
    await writeFileAtomic(join(this.dir, `${r.id}.json`), JSON.stringify(r));
  }

  async savePlan(id: string, plan: PushPlan): Promise<void> {
    await writeFileAtomic(join(this.dir, `${id}.plan.json`), JSON.stringify(plan));
  }

  async plan(id: string): Promise<PushPlan | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.plan.json`), 'utf8')) as PushPlan;
    } catch {
      return undefined;
    }
  }

  /** Paths already on an edge (a line torn by a crash is ignored: that object is pushed again). */
  async done(id: string, edge: string): Promise<Set<string>> {
    try {
      const text = await readFile(join(this.dir, `${id}.${edge}.done`), 'utf8');
      const lines = text.split('\n');
      if (!text.endsWith('\n')) lines.pop();
      return new Set(lines.filter(Boolean));
    } catch {
      return new Set();
    }
  }

  /** The journal an edge's run appends finished objects to. */
  journal(id: string, edge: string): Journal {
    return new Journal(join(this.dir, `${id}.${edge}.done`));
  }

  /** Drops the journals of an ended push (the record and the plan stay as its report). */
  async compact(id: string, edges: string[]): Promise<void> {
    for (const e of edges) await rm(join(this.dir, `${id}.${e}.done`), { force: true });
  }
}

/**
 * Appends lines in batches (every 100 ms, or 256 lines), off the objects' critical path. A crash
 * loses at most the last batch: those objects are pushed again (and found present) after a restart.
 */
export class Journal {
  private buffered: string[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  /** The first failed append (the push goes on; a restart would redo the objects not recorded). */
  error?: Error;

  constructor(private readonly path: string) {}

  add(line: string): void {
    this.buffered.push(line);
    if (this.buffered.length >= 256) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 100);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffered.length) {
      const text = `${this.buffered.join('\n')}\n`;
      this.buffered = [];
      this.writing = this.writing.then(() => appendFile(this.path, text)).catch((err: Error) => void (this.error ??= err));
    }
    return this.writing;
  }
}
