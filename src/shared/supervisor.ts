/**
 * The one owner of child processes. Every ffmpeg/ffprobe runs through here: it
 * is tracked while alive, watched for stalls, killed on cancel and on shutdown,
 * and `close()` returns only when every child has exited (no orphans).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from './logger.js';

export interface ExecResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** What the supervisor needs of a running process, whoever spawned it. */
export interface ProcessHandle {
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
}

interface Tracked { name: string; handle: ProcessHandle; exited: Promise<void> }

export class Supervisor {
  private readonly live = new Set<Tracked>();
  private closing = false;
  constructor(private readonly log: Logger) {}

  get running(): number {
    return this.live.size;
  }

  /**
   * Registers a process started elsewhere (fluent-ffmpeg spawns its own). `exited`
   * must settle when the process is gone.
   */
  adopt(name: string, handle: ProcessHandle, exited: Promise<unknown>): void {
    if (this.closing) {
      handle.kill('SIGKILL');
    }
    const t: Tracked = { name, handle, exited: exited.then(() => undefined, () => undefined) };
    this.live.add(t);
    this.log.debug({ name, pid: handle.pid }, 'child started');
    void t.exited.then(() => {
      this.live.delete(t);
      this.log.debug({ name, pid: handle.pid }, 'child exited');
    });
  }

  /** Runs a short-lived command to completion, killing it after `timeoutMs` or on abort. */
  exec(name: string, file: string, args: string[], opts: { timeoutMs: number; signal?: AbortSignal; maxOutputBytes?: number }): Promise<ExecResult> {
    if (this.closing) return Promise.reject(new Error('supervisor is shutting down'));
    const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        if (stdout.length < max) stdout += d;
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < max) stderr += d;
      });
      const kill = (): void => {
        child.kill('SIGKILL');
      };
      const timer = setTimeout(kill, opts.timeoutMs);
      opts.signal?.addEventListener('abort', kill, { once: true });
      const exited = new Promise<void>((res) => {
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', kill);
          resolve({ code, signal, stdout, stderr });
          res();
        });
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
          res();
        });
      });
      this.adopt(name, { pid: child.pid, kill: (s) => child.kill(s) }, exited);
    });
  }

  /**
   * Starts a long-running child with the given stdio (e.g. extra pipes for CMAF
   * outputs) and tracks it until it exits. The caller reads and kills it; close()
   * still reaps it.
   */
  spawn(name: string, file: string, args: string[], stdio: Array<'pipe' | 'ignore' | 'inherit'>): ChildProcess {
    if (this.closing) throw new Error('supervisor is shutting down');
    const child = spawn(file, args, { stdio });
    const exited = new Promise<void>((res) => {
      child.once('close', () => res());
      child.once('error', () => res());
    });
    this.adopt(name, { pid: child.pid, kill: (s) => child.kill(s) }, exited);
    return child;
  }

  /** Kills every child (SIGTERM, then SIGKILL after `graceMs`) and waits for all of them. */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    const all = [...this.live];
    for (const t of all) t.handle.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const t of all) t.handle.kill('SIGKILL');
    }, graceMs);
    await Promise.all(all.map((t) => t.exited));
    clearTimeout(timer);
  }
}

/**
 * Calls `onStall` when `touch()` has not been called for `stallMs`. Used to kill
 * an ffmpeg that stopped making progress.
 */
export class StallWatchdog {
  private last = Date.now();
  private readonly timer: NodeJS.Timeout;
  constructor(stallMs: number, onStall: () => void) {
    this.timer = setInterval(() => {
      if (Date.now() - this.last > stallMs) {
        clearInterval(this.timer);
        onStall();
      }
    }, Math.min(1000, stallMs / 4));
    this.timer.unref();
  }
  touch(): void {
    this.last = Date.now();
  }
  stop(): void {
    clearInterval(this.timer);
  }
}
