/** A real Varnish (Debian's varnishd) in front of an origin, with the shipped edge VCL. */
import { spawn, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './s3rver.js';

export interface Varnish { url: string; stop(): Promise<void> }

export async function startVarnish(origin: string): Promise<Varnish> {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-varnish-'));
  // varnishd drops root for its own users, which must read the VCL.
  await chmod(dir, 0o755);
  const o = new URL(origin);
  const vcl = (await readFile(new URL('../../deploy/varnish/edge.vcl', import.meta.url), 'utf8')).replaceAll('${ORIGIN_HOST}', o.hostname).replaceAll('${ORIGIN_PORT}', o.port);
  await writeFile(join(dir, 'edge.vcl'), vcl);
  const port = await freePort();
  const admin = await freePort();
  const pidFile = join(dir, 'varnishd.pid');
  const res = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const c = spawn('varnishd', ['-a', `127.0.0.1:${port}`, '-T', `127.0.0.1:${admin}`, '-f', join(dir, 'edge.vcl'), '-s', 'malloc,64m', '-n', join(dir, 'work'), '-P', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d));
    c.stdout.on('data', (d: Buffer) => (err += d));
    c.on('exit', (code) => resolve({ code, err }));
  });
  if (res.code !== 0) throw new Error(`varnishd failed (exit ${res.code}): ${res.err}`);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: async () => {
      try {
        const pid = Number((await readFile(pidFile, 'utf8')).trim());
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 50; i++) {
          try {
            process.kill(pid, 0);
            await new Promise((r) => setTimeout(r, 100));
          } catch {
            break;
          }
        }
      } catch {
        execFileSync('pkill', ['-f', dir]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
