/**
 * The VOD ingest service: takes uploads, queues jobs (p-queue), runs the
 * pipeline, persists every state change, recovers after a restart and cleans
 * up after failures and cancels (no objects, no temp files, no ffmpeg left).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import PQueue from 'p-queue';
import type { Catalog } from '../catalog/catalog.js';
import { CascadeError, createError, isCascadeError } from '../shared/errors.js';
import { newId, validateId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Supervisor } from '../shared/supervisor.js';
import { isTerminal, JobStore, toPublicJob, type Job, type JobRecord, type JobStage } from './job-store.js';
import { resolveLadder, type Ladder } from './ladder.js';
import { runPipeline } from './pipeline.js';

export interface IngestOptions {
  dataDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  concurrency: number;
  maxAttempts: number;
  stallSec: number;
  maxUploadBytes: number;
  /** No body bytes for this long: the upload is refused (UPLOAD_STALLED). */
  uploadIdleMs?: number;
  defaultLadder: string;
  now?: () => Date;
}

const PROGRESS_PERSIST_MS = 2000;
/** Abort reason of a server shutdown (as opposed to a user's cancel). */
const SHUTDOWN = Symbol('shutdown');

export class IngestService {
  private readonly jobs: JobStore;
  private readonly queue: PQueue;
  private readonly running = new Map<string, AbortController>();
  private readonly lastPersist = new Map<string, number>();
  private readonly titleLocks = new Map<string, Promise<void>>();
  private closed = false;
  private readonly now: () => Date;

  constructor(
    private readonly opts: IngestOptions,
    private readonly catalog: Catalog,
    private readonly supervisor: Supervisor,
    private readonly log: Logger,
  ) {
    this.jobs = new JobStore(join(opts.dataDir, 'jobs'));
    this.queue = new PQueue({ concurrency: opts.concurrency });
    this.now = opts.now ?? (() => new Date());
  }

  private uploadDir(jobId: string): string {
    return join(this.opts.dataDir, 'uploads', jobId);
  }
  private workDir(jobId: string): string {
    return join(this.opts.dataDir, 'work', jobId);
  }

  /** Loads persisted jobs: queued ones run again, interrupted ones are retried or failed with a reason. */
  async start(): Promise<void> {
    const all = await this.jobs.load();
    for (const job of all) {
      if (job.status === 'running') {
        await this.killOrphan(job);
        await rm(this.workDir(job.id), { recursive: true, force: true });
        await this.catalog.deleteVersion(job.titleId, job.version).catch(() => undefined);
        if (job.attempts < this.opts.maxAttempts) {
          this.log.warn({ job: job.id, attempts: job.attempts }, 'job interrupted by a restart: retrying');
          await this.update(job, { status: 'queued', stage: 'queued', progress: 0, pid: undefined });
        } else {
          await this.fail(job, createError('JOB_INTERRUPTED', `the server stopped during the job ${job.attempts} time(s); giving up`));
          continue;
        }
      }
      if (job.status === 'queued') this.enqueue(job.id);
    }
    // Leftovers of uploads that never became jobs (server killed mid-upload).
    await this.sweepOrphanDirs();
  }

  private async sweepOrphanDirs(): Promise<void> {
    for (const sub of ['uploads', 'work']) {
      const dir = join(this.opts.dataDir, sub);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        const job = this.jobs.get(name);
        if (!job || isTerminal(job.status)) await rm(join(dir, name), { recursive: true, force: true });
      }
    }
  }

  private async killOrphan(job: JobRecord): Promise<void> {
    if (!job.pid) return;
    try {
      const cmdline = await readFile(`/proc/${job.pid}/cmdline`, 'utf8');
      // Only kill what is provably ours: an ffmpeg writing into this job's work dir.
      if (cmdline.includes('ffmpeg') && cmdline.includes(this.workDir(job.id))) {
        process.kill(job.pid, 'SIGKILL');
        this.log.warn({ job: job.id, pid: job.pid }, 'killed orphan ffmpeg of an interrupted job');
      }
    } catch {
      // Not running any more.
    }
  }

  /** Streams an upload to disk (size-limited), then creates and queues the job. */
  async submitUpload(titleId: string, body: Readable, opts: { contentLength?: number; ladder?: string }): Promise<Job> {
    validateId(titleId, 'title id');
    const ladder: Ladder = resolveLadder(opts.ladder, this.opts.defaultLadder);
    if (opts.contentLength !== undefined && opts.contentLength > this.opts.maxUploadBytes) {
      throw createError('UPLOAD_TOO_LARGE', `upload of ${opts.contentLength} bytes exceeds the limit of ${this.opts.maxUploadBytes} bytes`);
    }
    const now = this.now();
    const id = newId('j', now.getTime());
    const dir = this.uploadDir(id);
    await mkdir(dir, { recursive: true });
    const part = join(dir, 'source.part');
    const limit = this.opts.maxUploadBytes;
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        received += chunk.length;
        if (received > limit) cb(createError('UPLOAD_TOO_LARGE', `upload exceeds the limit of ${limit} bytes`));
        else cb(null, chunk);
      },
    });
    // The request itself stays out of the pipeline: a failed write (a full disk, the size limit)
    // must not destroy the client's socket before it has been answered.
    const source = new PassThrough();
    body.once('error', (e) => source.destroy(e));
    body.once('close', () => {
      if (!(body as { complete?: boolean }).complete && !source.writableEnded) source.destroy(new Error('the client closed the upload'));
    });
    body.pipe(source);
    // A body that stops arriving (a Content-Length larger than what is sent, a chunked body without
    // its last chunk) would hold the connection and the partial file for ever.
    const idleMs = this.opts.uploadIdleMs ?? 60_000;
    const idle = setTimeout(() => {
      source.destroy(createError('UPLOAD_STALLED', `no upload bytes for ${idleMs / 1000} s after ${received} bytes; the upload was discarded`));
    }, idleMs);
    body.on('data', () => idle.refresh());
    try {
      await pipeline(source, counter, createWriteStream(part));
      clearTimeout(idle);
      if (opts.contentLength !== undefined && received !== opts.contentLength) {
        throw createError('UPLOAD_INCOMPLETE', `received ${received} of ${opts.contentLength} bytes`);
      }
      await rename(part, join(dir, 'source'));
    } catch (err) {
      clearTimeout(idle);
      body.unpipe(source);
      await rm(dir, { recursive: true, force: true });
      if (isCascadeError(err)) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') throw createError('INSUFFICIENT_STORAGE', 'the data directory is full; the upload was discarded');
      throw createError('UPLOAD_INCOMPLETE', `upload failed: ${(err as Error).message}`);
    }
    const job: JobRecord = {
      id,
      titleId,
      version: `v${now.getTime().toString(36)}${id.slice(-4)}`,
      status: 'queued',
      stage: 'queued',
      progress: 0,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      attempts: 0,
      ladder: JSON.stringify(ladder),
      sourceBytes: received,
    };
    try {
      await this.jobs.save(job);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.log.info({ job: id, title: titleId, bytes: received }, 'upload stored, job queued');
    const accepted = toPublicJob(job);
    this.enqueue(id);
    return accepted;
  }

  private enqueue(id: string): void {
    void this.queue.add(() => this.execute(id));
  }

  private async update(job: JobRecord, patch: Partial<JobRecord>, persist = true): Promise<void> {
    Object.assign(job, patch, { updatedAt: this.now().toISOString() });
    if (persist) await this.jobs.save(job);
  }

  /** Cleans up first, then records the end: whoever sees a terminal status sees nothing left over. */
  private async fail(job: JobRecord, err: CascadeError): Promise<void> {
    await rm(this.workDir(job.id), { recursive: true, force: true });
    await rm(this.uploadDir(job.id), { recursive: true, force: true });
    await this.update(job, { status: err.code === 'JOB_CANCELED' ? 'canceled' : 'failed', error: err.toJSON(), pid: undefined });
  }

  /**
   * Jobs of one title run one after the other, in submission order: versions publish in the order
   * they were uploaded, and pruning old versions never races another job's upload.
   */
  private async execute(id: string): Promise<void> {
    const titleId = this.jobs.get(id)?.titleId;
    if (titleId === undefined) return;
    const previous = this.titleLocks.get(titleId) ?? Promise.resolve();
    const run = previous.then(() => this.executeUnlocked(id));
    const tail = run.catch(() => undefined);
    this.titleLocks.set(titleId, tail);
    try {
      await run;
    } finally {
      if (this.titleLocks.get(titleId) === tail) this.titleLocks.delete(titleId);
    }
  }

  private async executeUnlocked(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job || job.status !== 'queued' || this.closed) return;
    const ac = new AbortController();
    this.running.set(id, ac);
    const log = this.log.child({ job: id, title: job.titleId });
    await this.update(job, { status: 'running', attempts: job.attempts + 1, progress: 0 });
    try {
      const ladder = JSON.parse(job.ladder) as Ladder;
      await runPipeline(
        {
          supervisor: this.supervisor,
          catalog: this.catalog,
          log,
          ffmpegPath: this.opts.ffmpegPath,
          ffprobePath: this.opts.ffprobePath,
          stallSec: this.opts.stallSec,
          now: this.now,
        },
        { titleId: job.titleId, version: job.version, ladder, sourcePath: join(this.uploadDir(id), 'source'), workDir: this.workDir(id) },
        {
          stage: (stage: JobStage) => void this.update(job, { stage }).catch(() => undefined),
          progress: (p) => this.progress(job, p),
          pid: (pid) => void this.update(job, { pid }).catch(() => undefined),
        },
        ac.signal,
      );
      await rm(this.workDir(id), { recursive: true, force: true });
      await rm(this.uploadDir(id), { recursive: true, force: true });
      await this.update(job, { status: 'succeeded', stage: 'done', progress: 1, pid: undefined });
      log.info('job succeeded: title published');
    } catch (raw) {
      if (ac.signal.reason === SHUTDOWN) {
        // Shutdown, not a cancel: leave the job queued so the next start runs it again.
        await this.update(job, { status: 'queued', stage: 'queued', progress: 0, pid: undefined, attempts: Math.max(0, job.attempts - 1) });
      } else {
        const err = ac.signal.aborted ? createError('JOB_CANCELED') : toCascade(raw);
        if (err.code === 'JOB_CANCELED') log.info('job canceled');
        else log.warn({ err: raw }, `job failed: ${err.code}`);
        await this.catalog.deleteVersion(job.titleId, job.version).catch((e: unknown) => log.error({ err: e }, 'removing the partial version failed'));
        await this.fail(job, err);
      }
    } finally {
      this.running.delete(id);
      this.lastPersist.delete(id);
      await rm(this.workDir(id), { recursive: true, force: true });
    }
  }

  private progress(job: JobRecord, p: number): void {
    const last = this.lastPersist.get(job.id) ?? 0;
    const persist = Date.now() - last > PROGRESS_PERSIST_MS;
    if (persist) this.lastPersist.set(job.id, Date.now());
    void this.update(job, { progress: Math.max(job.progress, p) }, persist).catch(() => undefined);
  }

  get(id: string): Job | undefined {
    const j = this.jobs.get(id);
    return j && toPublicJob(j);
  }

  list(): Job[] {
    return this.jobs.all().map(toPublicJob);
  }

  jobsOfTitle(titleId: string): Job[] {
    return this.jobs.byTitle(titleId).map(toPublicJob);
  }

  async cancel(id: string): Promise<Job> {
    const job = this.jobs.get(id);
    if (!job) throw createError('JOB_NOT_FOUND', `no job ${id}`);
    if (isTerminal(job.status)) throw createError('JOB_NOT_CANCELABLE', `job ${id} has already ${job.status}`);
    const ac = this.running.get(id);
    if (ac) {
      ac.abort(createError('JOB_CANCELED'));
      // Wait for the pipeline to unwind (ffmpeg killed, partial objects removed).
      while (this.running.has(id)) await new Promise((r) => setTimeout(r, 20));
    } else {
      await this.fail(job, createError('JOB_CANCELED'));
    }
    return toPublicJob(job);
  }

  /** Cancels the title's jobs and forgets them (used when a title is deleted). */
  async forgetTitle(titleId: string): Promise<void> {
    for (const j of this.jobs.byTitle(titleId)) {
      if (!isTerminal(j.status)) await this.cancel(j.id).catch(() => undefined);
      await this.jobs.remove(j.id);
    }
  }

  /** Stops taking work, kills running encodes (they stay queued for the next start) and waits. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.clear();
    for (const ac of this.running.values()) ac.abort(SHUTDOWN);
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
    await this.queue.onIdle();
  }
}

function toCascade(err: unknown): CascadeError {
  if (isCascadeError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') return createError('INSUFFICIENT_STORAGE', 'the data directory is full');
  if (e?.name === 'AbortError') return createError('JOB_CANCELED');
  return createError('INTERNAL', `unexpected failure: ${e?.message ?? String(err)}`);
}
