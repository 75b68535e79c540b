/** Jobs persisted as one JSON file each under {dataDir}/jobs, so a restart neither loses nor duplicates them. */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorCode } from '../shared/errors.js';
import { TMP_MARK, writeFileAtomic } from '../shared/fs-util.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export type JobStage = 'queued' | 'probing' | 'encoding' | 'packaging' | 'publishing' | 'done';

export interface JobRecord {
  id: string;
  titleId: string;
  /** The title version this job publishes; part of every playback URL. */
  version: string;
  status: JobStatus;
  stage: JobStage;
  progress: number;
  error?: { code: ErrorCode; message: string };
  createdAt: string;
  updatedAt: string;
  attempts: number;
  /** The resolved ladder, as JSON, so a retry after restart encodes the same thing. */
  ladder: string;
  sourceBytes: number;
  /** ffmpeg pid while encoding: lets a restarted server kill an orphan. */
  pid?: number;
}

/** The public Job of the API. */
export type Job = Pick<JobRecord, 'id' | 'titleId' | 'status' | 'progress' | 'error' | 'createdAt' | 'updatedAt' | 'stage' | 'version'>;

export const toPublicJob = (j: JobRecord): Job => ({
  id: j.id,
  titleId: j.titleId,
  version: j.version,
  status: j.status,
  stage: j.stage,
  progress: Math.round(j.progress * 1000) / 1000,
  ...(j.error ? { error: j.error } : {}),
  createdAt: j.createdAt,
  updatedAt: j.updatedAt,
});

export const isTerminal = (s: JobStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'canceled';

export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  constructor(private readonly dir: string) {}

  async load(): Promise<JobRecord[]> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) {
        if (name.includes(TMP_MARK)) await rm(join(this.dir, name), { force: true });
        continue;
      }
      try {
        const j = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as JobRecord;
        this.jobs.set(j.id, j);
      } catch {
        // A torn record cannot happen with atomic writes; an unreadable one is set aside, not fatal.
        await rm(join(this.dir, name), { force: true });
      }
    }
    return this.all();
  }

  get(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  all(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  byTitle(titleId: string): JobRecord[] {
    return this.all().filter((j) => j.titleId === titleId);
  }

  async save(job: JobRecord): Promise<void> {
    this.jobs.set(job.id, job);
    await writeFileAtomic(join(this.dir, `${job.id}.json`), JSON.stringify(job));
  }

  async remove(id: string): Promise<void> {
    this.jobs.delete(id);
    await rm(join(this.dir, `${id}.json`), { force: true });
  }
}
