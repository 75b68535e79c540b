/** Ingest surface: VOD uploads, jobs, ladders. */
export { IngestService, type IngestOptions } from './service.js';
export { type Job, type JobStatus } from './job-store.js';
export { LADDER_PRESETS, resolveLadder, parseLadder, deriveEncodePlan, type Ladder, type EncodePlan } from './ladder.js';
export { buildEncodeArgs, encodeArgv } from './ffmpeg-args.js';
export { probeSource, interpretProbe, type SourceInfo } from './probe.js';
