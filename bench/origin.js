#!/usr/bin/env node
// Origin throughput: the same client (wrk on loopback), the same bytes, the same run:
//   nginx (sendfile, one worker) serving a hot ~1.5 MB media segment and the small objects from disk,
//   `cascade serve` (its own process, as deployed) serving the same segment (hot object cache), the
//   same multivariant playlist (JIT-rendered) and a JIT media playlist,
//   a bare fastify process answering the same bytes from memory (the framework floor).
// Each server runs in its own process; rounds alternate between them and the median of the rounds
// is printed (this machine's neighbours move single runs by ±30 %), with the server process's CPU
// time per request (user + system, from /proc/<pid>/stat), which moves less. With two or more cores
// the servers are pinned to the last core and wrk to the others (taskset), so each server has one
// core to itself, as a one-worker nginx has; BENCH_PIN=0 turns that off.
// Usage: node bench/origin.js [seconds=6] [connections=50] [rounds=3]
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort, publish } from './lib.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const execFileP = promisify(execFile);
const seconds = Number(process.argv[2] ?? 6);
const conns = Number(process.argv[3] ?? 50);
const rounds = Number(process.argv[4] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-origin-'));
chmodSync(dir, 0o755); // nginx workers run as an unprivileged user
const token = 'bench-token-0123456789';
/** CPU seconds (user + system) a process has used so far. */
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const wrk = async (url, pid) => {
  const cpu0 = cpuOf(pid);
  const wrkArgs = ['-t2', `-c${conns}`, `-d${seconds}s`, '--latency', url];
  const out = (await (pin ? execFileP('taskset', ['-c', clientCores, 'wrk', ...wrkArgs]) : execFileP('wrk', wrkArgs))).stdout;
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors for ${url}:\n${out}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  return { rps, p99: /99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?', usPerReq: ((cpuOf(pid) - cpu0) * 1e6) / requests };
};
const cores = Number(execFileSync('nproc').toString().trim());
const pin = process.env.BENCH_PIN !== '0' && cores >= 2;
const clientCores = `0-${cores - 2}`;
const median = (xs) => xs.slice().sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)];
const waitHttp = async (url) => {
  for (let i = 0; i < 200; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
};
const children = [];
try {
  const master = join(dir, 'master.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-t', '12', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '12', '-f', 'lavfi', '-i', 'sine', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', master]);
  const cport = await freePort();
  const bin = fileURLToPath(new URL('../bin/cascade.js', import.meta.url));
  children.push(spawn(process.execPath, [bin, 'serve', '--port', String(cport), '--data', join(dir, 'data')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CASCADE_API_TOKEN: token, CASCADE_LADDER: 'fast', CASCADE_LIVE: 'off', CASCADE_LOG_LEVEL: 'warn' },
  }));
  const url = `http://127.0.0.1:${cport}`;
  await waitHttp(`${url}/healthz`);
  const title = await publish(url, token, 'bench', master);
  const paths = { seg: `/vod/bench/${title.version}/720p/2.m4s`, man: title.playback.hls, mpd: title.playback.dash };
  const bytes = {};
  for (const [k, p] of Object.entries(paths)) bytes[k] = Buffer.from(await (await fetch(url + p)).arrayBuffer());

  const root = join(dir, 'www');
  mkdirSync(root);
  writeFileSync(join(root, 'seg.m4s'), bytes.seg);
  writeFileSync(join(root, 'master.m3u8'), bytes.man);
  writeFileSync(join(root, 'manifest.mpd'), bytes.mpd);
  const nport = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000; types { video/mp4 m4s; application/vnd.apple.mpegurl m3u8; application/dash+xml mpd; }
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;
  server { listen 127.0.0.1:${nport}; root ${root}; } }`);
  children.push(spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' }));
  // The framework floor: a bare fastify process answering the same bytes from memory.
  const bport = await freePort();
  const fastify = fileURLToPath(new URL('../node_modules/fastify/fastify.js', import.meta.url));
  children.push(spawn(process.execPath, ['--input-type=module', '-e', `
    import { readFileSync } from 'node:fs';
    const { default: Fastify } = await import(${JSON.stringify(fastify)});
    const app = Fastify({ logger: false });
    for (const [name, type] of [['seg.m4s', 'video/mp4'], ['master.m3u8', 'application/vnd.apple.mpegurl'], ['manifest.mpd', 'application/dash+xml']]) {
      const body = readFileSync(${JSON.stringify(root)} + '/' + name);
      app.get('/' + name, (_q, reply) => { reply.type(type).send(body); });
    }
    await app.listen({ port: ${bport}, host: '127.0.0.1' });`], { stdio: 'inherit' }));
  const n = `http://127.0.0.1:${nport}`;
  const b = `http://127.0.0.1:${bport}`;
  await waitHttp(`${n}/master.m3u8`);
  await waitHttp(`${b}/master.m3u8`);
  // nginx serves from its worker process (the master's child).
  const nginxWorker = Number(execFileSync('pgrep', ['-P', String(children[1].pid)]).toString().trim().split('\n')[0]);
  const pids = [nginxWorker, children[0].pid, children[2].pid];
  // Every thread of each server process on the last core (after the title is encoded).
  if (pin) for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', String(cores - 1), String(pid)], { stdio: 'ignore' });

  console.log(`wrk -t2 -c${conns} -d${seconds}s on loopback; ${pin ? `each server pinned to core ${cores - 1}, wrk to cores ${clientCores}` : `${cores} cores shared by servers and client`}; median of ${rounds} alternating rounds`);
  console.log(`segment ${bytes.seg.length} bytes, multivariant ${bytes.man.length} bytes, MPD ${bytes.mpd.length} bytes`);
  const rows = [
    ['hot segment (1.5 MB)', `${n}/seg.m4s`, url + paths.seg, `${b}/seg.m4s`],
    ['small object (manifest)', `${n}/master.m3u8`, url + paths.man, `${b}/master.m3u8`],
    ['small object (MPD)', `${n}/manifest.mpd`, url + paths.mpd, `${b}/manifest.mpd`],
  ];
  for (const [name, ...urls] of rows) {
    const runs = urls.map(() => []);
    for (let r = 0; r < rounds; r++) for (const [i, u] of urls.entries()) runs[i].push(await wrk(u, pids[i]));
    const [ng, cs, fb] = runs.map(median);
    const us = (xs) => xs.map((x) => x.usPerReq).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const [ngUs, csUs, fbUs] = runs.map(us);
    console.log(`${name.padEnd(24)} nginx ${ng.rps.toFixed(0).padStart(7)} req/s (p99 ${ng.p99})   cascade ${cs.rps.toFixed(0).padStart(7)} req/s (p99 ${cs.p99})   bare fastify ${fb.rps.toFixed(0).padStart(7)}   cascade/nginx ${(cs.rps / ng.rps).toFixed(2)}   cascade/bare ${(cs.rps / fb.rps).toFixed(2)}`);
    console.log(`${''.padEnd(24)} server CPU per request: nginx ${ngUs.toFixed(1)} µs, cascade ${csUs.toFixed(1)} µs, bare fastify ${fbUs.toFixed(1)} µs   nginx/cascade ${(ngUs / csUs).toFixed(2)}`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
