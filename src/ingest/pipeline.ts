/** One VOD job: probe → plan → encode → package → publish. Each stage reports; every failure is a CascadeError. */
import { mkdir, rm } from 'node:fs/promises';
import { BoxError, buildTimeline, scanTrack, TimelineError, type TitleTimeline } from '../packager/index.js';
import type { Catalog } from '../catalog/catalog.js';
import { CascadeError, createError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Supervisor } from '../shared/supervisor.js';
import { buildEncodeArgs } from './ffmpeg-args.js';
import { runEncode } from './encoder.js';
import { withFileAccess } from './file-access.js';
import { deriveEncodePlan, type Ladder } from './ladder.js';
import { probeSource } from './probe.js';
import type { JobStage } from './job-store.js';

export interface PipelineContext {
  supervisor: Supervisor;
  catalog: Catalog;
  log: Logger;
  ffmpegPath: string;
  ffprobePath: string;
  stallSec: number;
  now: () => Date;
}

export interface PipelineJob {
  titleId: string;
  version: string;
  ladder: Ladder;
  sourcePath: string;
  workDir: string;
}

export interface PipelineEvents {
  stage(stage: JobStage): void;
  progress(fraction: number): void;
  pid(pid: number | undefined): void;
}

/** Encoding is ~95 % of a job's time; the rest is split over packaging and publishing. */
const ENCODE_SHARE = 0.95;

export async function runPipeline(ctx: PipelineContext, job: PipelineJob, ev: PipelineEvents, signal: AbortSignal): Promise<TitleTimeline> {
  const log = ctx.log.child({ version: job.version });
  ev.stage('probing');
  const source = await probeSource(ctx.supervisor, ctx.ffprobePath, job.sourcePath, signal);
  log.info({ source }, 'source probed');
  signal.throwIfAborted();

  const plan = deriveEncodePlan(source, job.ladder);
  const outDir = `${job.workDir}/out`;
  await rm(job.workDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const args = buildEncodeArgs(plan, job.sourcePath, outDir);

  ev.stage('encoding');
  await runEncode(ctx.supervisor, log, args, {
    ffmpegPath: ctx.ffmpegPath,
    durationSec: source.durationSec,
    stallSec: ctx.stallSec,
    signal,
    onProgress: (f) => ev.progress(f * ENCODE_SHARE),
    onStart: (pid) => ev.pid(pid),
  });
  ev.pid(undefined);
  signal.throwIfAborted();

  ev.stage('packaging');
  let timeline: TitleTimeline;
  try {
    const tracks = [];
    for (const o of args.outputs) {
      const scan = await withFileAccess(o.path, scanTrack);
      tracks.push({ id: o.id, object: `${o.id}.mp4`, scan });
    }
    timeline = buildTimeline({ titleId: job.titleId, version: job.version, publishedAt: ctx.now().toISOString(), segmentTargetSec: job.ladder.segmentSec, tracks });
  } catch (err) {
    if (err instanceof BoxError || err instanceof TimelineError) throw createError('PACKAGE_FAILED', `packaging failed: ${err.message}`, err);
    throw err;
  }
  // A source whose container promised more than the decoder could read is damaged.
  if (source.durationSec > 2 && timeline.durationSec < source.durationSec * 0.9 - 1) {
    throw createError('SOURCE_TRUNCATED', `the source declares ${source.durationSec.toFixed(1)}s but only ${timeline.durationSec.toFixed(1)}s could be decoded`);
  }
  ev.progress(0.97);

  ev.stage('publishing');
  try {
    await ctx.catalog.publish(
      timeline,
      args.outputs.map((o) => ({ rendition: o.id, path: o.path, kind: o.kind })),
      signal,
    );
  } catch (err) {
    if (signal.aborted) throw createError('JOB_CANCELED');
    throw err instanceof CascadeError ? err : createError('PUBLISH_FAILED', `storing the title failed: ${(err as Error).message}`, err);
  }
  return timeline;
}
