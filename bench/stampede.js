#!/usr/bin/env node
// Stampede: N concurrent cold requests for one segment through Cascade on the S3 backend (s3rver),
// against the same N requests sent straight to the store (what a CDN stampede would cost without
// coalescing). Prints storage reads and latency percentiles of both. Usage: node bench/stampede.js [N=1000]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort, publish } from './lib.js';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/config.js';
import { createServer } from '../dist/server.js';
import { createLogger } from '../dist/shared/logger.js';

const N = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'cascade-stampede-'));
const token = 'bench-token-0123456789';
const get = (url, headers = {}) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  request(url, { agent: false, headers }, (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 })); }).on('error', reject).end();
});
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
let s3;
let server;
try {
  const port = await freePort();
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  s3 = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', join(dir, 's3'), '-a', '127.0.0.1', '-p', String(port), '--configure-bucket', 'bench', '--silent'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  // The AWS SDK reads credentials from the process environment itself.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
  const env = { ...process.env, CASCADE_S3_ENDPOINT: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', CASCADE_LADDER: 'draft' };
  const master = join(dir, 'm.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-t', '8', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '8', '-f', 'lavfi', '-i', 'sine', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', master]);
  server = await createServer(loadConfig({ dataDir: join(dir, 'data'), apiToken: token, storage: 's3://bench/c' }, env), { logger: createLogger('warn') });
  const url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { version } = await publish(url, token, 'st', master);
  const readsBefore = Number(/cascade_storage_reads_total (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
  const cascade = await Promise.all(Array.from({ length: N }, () => get(`${url}/vod/st/${version}/720p/1.m4s`)));
  const readsAfter = Number(/cascade_storage_reads_total (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())[1]);
  // Reference: the same bytes (the segment's range of the track object) straight from s3rver.
  const timeline = await (await fetch(`http://127.0.0.1:${port}/bench/c/titles/st/${version}/timeline.json`)).json();
  const seg = timeline.renditions.find((r) => r.id === '720p').segments[0];
  const range = { range: `bytes=${seg.offset}-${seg.offset + seg.size - 1}` };
  const direct = await Promise.all(Array.from({ length: N }, () => get(`http://127.0.0.1:${port}/bench/c/titles/st/${version}/720p.mp4`, range)));
  const row = (name, rs, reads) => console.log(`${name.padEnd(30)} ok ${rs.filter((r) => r.status === 200 || r.status === 206).length}/${N}   storage reads ${String(reads).padStart(5)}   p50 ${pct(rs.map((r) => r.ms), 50).toFixed(0)} ms   p99 ${pct(rs.map((r) => r.ms), 99).toFixed(0)} ms`);
  console.log(`${N} concurrent cold requests for one ${seg.size}-byte segment (S3 backend: s3rver on loopback)`);
  row('cascade (coalesced)', cascade, readsAfter - readsBefore);
  row('straight to the store (ref)', direct, N);
  console.log(`storage reads ratio cascade/ref: ${((readsAfter - readsBefore) / N).toFixed(4)}   p99 ratio: ${(pct(cascade.map((r) => r.ms), 99) / pct(direct.map((r) => r.ms), 99)).toFixed(2)}`);
} finally {
  await server?.close();
  s3?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
