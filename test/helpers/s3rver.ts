/** A real S3-protocol server (s3rver) in a child process, on a free loopback port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { stopChild } from './processes.js';
import { join } from 'node:path';
import { createRequire } from 'node:module';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface S3rver {
  endpoint: string;
  bucket: string;
  dir: string;
  child: ChildProcess;
  /** SIGKILL, keeping its data directory (a real outage). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const S3RVER_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export async function startS3rver(bucket = 'cascade-test'): Promise<S3rver> {
  const dir = await mkdtemp(join(tmpdir(), 's3rver-'));
  const port = await freePort();
  const s3: S3rver = {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    dir,
    child: await spawnS3rver(dir, port, bucket),
    kill: () => stopChild(s3.child, 'SIGKILL'),
    restart: async () => {
      s3.child = await spawnS3rver(dir, port, bucket);
    },
    stop: async () => {
      await stopChild(s3.child, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return s3;
}

async function spawnS3rver(dir: string, port: number, bucket: string): Promise<ChildProcess> {
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  // --openssl-legacy-provider: ListObjectsV2 pagination answers 500 without it on Node 20 (MACHINE-NOTES).
  const child = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--configure-bucket', bucket], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`s3rver did not start: ${log}`)), 15_000);
    const on = (d: Buffer): void => {
      log += d.toString();
      if (/listening/i.test(log)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => reject(new Error(`s3rver exited ${code}: ${log}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}
