/**
 * The fluent-ffmpeg adapter: turns pure EncodeArgs into a fluent command, runs it
 * under the supervisor, reports progress from ffmpeg's `-progress` key=value
 * lines, and kills it on stall or cancel.
 */
import ffmpeg from 'fluent-ffmpeg';
import { createError, CascadeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { StallWatchdog, type Supervisor } from '../shared/supervisor.js';
import type { EncodeArgs } from './ffmpeg-args.js';

export interface EncodeOptions {
  ffmpegPath: string;
  durationSec: number;
  stallSec: number;
  signal: AbortSignal;
  onProgress: (fraction: number) => void;
  onStart?: (pid: number | undefined) => void;
}

export function runEncode(supervisor: Supervisor, log: Logger, args: EncodeArgs, opts: EncodeOptions): Promise<void> {
  const cmd = ffmpeg(args.input).setFfmpegPath(opts.ffmpegPath).inputOptions(args.inputOptions);
  if (args.filterGraph) cmd.complexFilter(args.filterGraph);
  for (const o of args.outputs) cmd.output(o.path).outputOptions(o.options);

  return new Promise<void>((resolve, reject) => {
    let failure: CascadeError | undefined;
    const errors: string[] = [];
    const kill = (reason: CascadeError): void => {
      failure ??= reason;
      cmd.kill('SIGKILL');
    };
    const watchdog = new StallWatchdog(opts.stallSec * 1000, () => kill(createError('ENCODE_STALLED', `ffmpeg made no progress for ${opts.stallSec}s and was stopped`)));
    const onAbort = (): void => kill(createError('JOB_CANCELED'));
    if (opts.signal.aborted) {
      watchdog.stop();
      reject(createError('JOB_CANCELED'));
      return;
    }
    opts.signal.addEventListener('abort', onAbort, { once: true });
    let exited!: () => void;
    const exitedP = new Promise<void>((r) => (exited = r));
    const finish = (err?: Error): void => {
      watchdog.stop();
      opts.signal.removeEventListener('abort', onAbort);
      exited();
      if (failure) reject(failure);
      else if (err) {
        const detail = `${errors.slice(-3).join(' | ') || err.message}`;
        // A full work disk is the operator's to fix, not a bad source: say so with its own code.
        if (/No space left on device/i.test(detail) || /No space left on device/i.test(err.message)) reject(createError('INSUFFICIENT_STORAGE', `the data directory filled up while encoding: ${detail}`.slice(0, 600), err));
        else reject(createError('ENCODE_FAILED', `ffmpeg failed: ${detail}`.slice(0, 600), err));
      }
      else resolve();
    };
    cmd.on('start', (line: string) => {
      const proc = (cmd as unknown as { ffmpegProc?: { pid?: number } }).ffmpegProc;
      log.info({ pid: proc?.pid }, 'ffmpeg started');
      log.debug({ command: line }, 'ffmpeg command');
      supervisor.adopt('ffmpeg-encode', { pid: proc?.pid, kill: (s) => cmd.kill(s) }, exitedP);
      opts.onStart?.(proc?.pid);
      // A cancel that arrived between run() and spawn could not kill anything yet.
      if (failure) cmd.kill('SIGKILL');
    });
    cmd.on('stderr', (line: string) => {
      // -progress writes key=value lines; anything else is a log line (errors at -loglevel error).
      const m = /^(\w+)=(.*)$/.exec(line.trim());
      if (m) {
        watchdog.touch();
        if (m[1] === 'out_time_us' && opts.durationSec > 0) {
          const us = Number(m[2]);
          if (Number.isFinite(us) && us >= 0) opts.onProgress(Math.min(0.999, us / 1e6 / opts.durationSec));
        }
      } else if (line.trim()) {
        errors.push(line.trim());
        if (errors.length > 50) errors.shift();
      }
    });
    cmd.on('error', (err: Error) => finish(err));
    cmd.on('end', () => finish());
    cmd.run();
  });
}
