#!/usr/bin/env node
// Origin throughput: the same client (wrk on loopback), the same bytes, the same run:
//   nginx (sendfile) serving a hot ~1.5 MB media segment and a ~1 KB manifest from disk,
//   Cascade serving that segment (hot object cache) and that manifest (JIT-rendered, cached).
// Prints req/s and the ratio to nginx. Usage: node bench/origin.js [seconds=8] [connections=50]
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort, publish } from './lib.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { loadConfig } from '../dist/config.js';
import { createServer } from '../dist/server.js';
import { createLogger } from '../dist/shared/logger.js';

const execFileP = promisify(execFile);
const seconds = Number(process.argv[2] ?? 8);
const conns = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-origin-'));
chmodSync(dir, 0o755); // nginx workers run as an unprivileged user
const token = 'bench-token-0123456789';
// Asynchronous on purpose: the Cascade server under test runs in this process's event loop.
const wrk = async (url) => {
  const out = (await execFileP('wrk', ['-t2', `-c${conns}`, `-d${seconds}s`, '--latency', url])).stdout;
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors for ${url}:\n${out}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const p99 = /99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?';
  return { rps, p99 };
};
let nginx;
let server;
try {
  const master = join(dir, 'master.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-t', '12', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '12', '-f', 'lavfi', '-i', 'sine', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', master]);
  server = await createServer(loadConfig({ dataDir: join(dir, 'data'), apiToken: token, port: 0, logLevel: 'warn' }, { ...process.env, CASCADE_LADDER: 'fast' }), { logger: createLogger('warn') });
  const url = await server.app.listen({ port: await freePort(), host: '127.0.0.1' });
  const title = await publish(url, token, 'bench', master);
  const segPath = `/vod/bench/${title.version}/720p/2.m4s`;
  const seg = Buffer.from(await (await fetch(url + segPath)).arrayBuffer());
  const manifest = Buffer.from(await (await fetch(url + title.playback.hls)).arrayBuffer());
  const root = join(dir, 'www');
  mkdirSync(root);
  writeFileSync(join(root, 'seg.m4s'), seg);
  writeFileSync(join(root, 'master.m3u8'), manifest);
  const nport = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000; types { video/mp4 m4s; application/vnd.apple.mpegurl m3u8; }
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;
  server { listen 127.0.0.1:${nport}; root ${root}; } }`);
  nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const n = `http://127.0.0.1:${nport}`;
  console.log(`wrk -t2 -c${conns} -d${seconds}s on loopback, 2 cores shared by server and client`);
  console.log(`segment ${seg.length} bytes, manifest ${manifest.length} bytes`);
  // The framework floor: a bare fastify route answering the same bytes from memory.
  const bare = Fastify({ logger: false });
  bare.get('/seg', async (_q, reply) => reply.type('video/mp4').send(seg));
  bare.get('/man', async (_q, reply) => reply.type('application/vnd.apple.mpegurl').send(manifest));
  const bareUrl = await bare.listen({ port: await freePort(), host: '127.0.0.1' });
  const rows = [
    ['hot segment', await wrk(`${n}/seg.m4s`), await wrk(url + segPath), await wrk(`${bareUrl}/seg`)],
    ['small object (manifest)', await wrk(`${n}/master.m3u8`), await wrk(url + title.playback.hls), await wrk(`${bareUrl}/man`)],
  ];
  await bare.close();
  for (const [name, ng, cs, fb] of rows) {
    console.log(`${name.padEnd(24)} nginx ${ng.rps.toFixed(0).padStart(7)} req/s (p99 ${ng.p99})   cascade ${cs.rps.toFixed(0).padStart(7)} req/s (p99 ${cs.p99})   bare fastify ${fb.rps.toFixed(0).padStart(7)}   cascade/nginx ${(cs.rps / ng.rps).toFixed(2)}   cascade/bare ${(cs.rps / fb.rps).toFixed(2)}`);
  }
} finally {
  nginx?.kill('SIGTERM');
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
}
