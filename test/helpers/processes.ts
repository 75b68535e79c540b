/** Child processes the tests start: a real `cascade serve`, and stopping any child cleanly. */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './s3rver.js';

const bin = new URL('../../bin/cascade.js', import.meta.url).pathname;

/** Signals `child` (unless it already ended) and waits until it has exited. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

export interface ServeProcess { child: ChildProcess; url: string; port: number; banner: string; log: () => string }

/**
 * Runs `cascade serve` from bin/ (the built CLI, as users run it) and resolves once its banner
 * contains `waitFor`.
 */
export async function spawnServe(dataDir: string, opts: { port?: number; env?: Record<string, string>; cwd?: string; waitFor?: string } = {}): Promise<ServeProcess> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--data', dataDir], {
    cwd: opts.cwd,
    env: { ...process.env, CASCADE_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let banner = '';
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not start: ${banner}${log}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      banner += d.toString();
      if (banner.includes(opts.waitFor ?? 'listening')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${banner}${log}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, port, banner, log: () => log };
}

/** Runs the built CLI (`bin/cascade.js`) to its exit. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d: Buffer) => (stdout += d));
    c.stderr!.on('data', (d: Buffer) => (stderr += d));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
