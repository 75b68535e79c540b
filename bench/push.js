#!/usr/bin/env node
// Push throughput: Cascade warming two real Varnish edges (deploy/varnish/edge.vcl) against a plain
// parallel curl of the same object list through the same kind of edges, in the same run. Both start
// from cold edges (fresh varnishd each) and a hot origin; both use 8 transfers at once per edge.
// Cascade also verifies every object (a HEAD that must be a HIT) — curl does not. Cascade warms by
// HEAD (`warm: auto`: Varnish fetches the whole object on a HEAD miss); BENCH_WARM=get reads every
// object through the edge like curl does. Also printed: a player's manifest latency at the origin
// during the push (the push's HTTP clients run in a worker thread, off the serving event loop).
// Prints bytes/s of both, the ratio (goal ≥ 0.8) and the origin's CPU seconds per run.
// Usage: node bench/push.js [titles=4] [seconds=60] [ladder=standard]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, publish } from './lib.js';

const TITLES = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 60);
const LADDER = process.argv[4] ?? 'standard';
const CONCURRENCY = 8;
const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-push-'));
chmodSync(dir, 0o755);
const token = 'bench-token-0123456789abcdef';
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

/** A fresh varnishd with the shipped VCL in front of `origin`; returns its URL and a stop function. */
async function varnish(origin, name) {
  const o = new URL(origin);
  const work = join(dir, name);
  const vcl = readFileSync(new URL('../deploy/varnish/edge.vcl', import.meta.url), 'utf8').replaceAll('${ORIGIN_HOST}', o.hostname).replaceAll('${ORIGIN_PORT}', o.port);
  writeFileSync(`${work}.vcl`, vcl);
  const port = await freePort();
  execFileSync('varnishd', ['-a', `127.0.0.1:${port}`, '-T', `127.0.0.1:${await freePort()}`, '-f', `${work}.vcl`, '-s', 'malloc,512m', '-n', work, '-P', `${work}.pid`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await new Promise((r) => setTimeout(r, 2500)); // the health probe marks the origin healthy
  return { url, stop: () => process.kill(Number(readFileSync(`${work}.pid`, 'utf8')), 'SIGTERM') };
}

/** CPU seconds (user + system) a process has used so far. */
const cpuSec = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

/** Runs `fn` while a player-like client fetches `url` every 5 ms; returns fn's result and the latencies. */
async function withProbe(url, fn) {
  const lat = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = performance.now();
      await (await fetch(url)).arrayBuffer();
      lat.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    return [await fn(), lat.sort((a, b) => a - b)];
  } finally {
    probing = false;
    await probe;
  }
}
const pctl = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))].toFixed(1);

let origin;
const edgesToStop = [];
try {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Edges for the push run are named in CASCADE_EDGES, so they start first (cold, origin not up yet).
  const pushEdges = [await varnish(base, 'push-a'), await varnish(base, 'push-b')];
  edgesToStop.push(...pushEdges);
  const edgesEnv = JSON.stringify(pushEdges.map((e, i) => ({ name: `edge-${i}`, kind: 'http-cache', url: e.url, concurrency: CONCURRENCY, warm: process.env.BENCH_WARM ?? 'auto' })));
  origin = spawn(process.execPath, [new URL('../bin/cascade.js', import.meta.url).pathname, 'serve', '--port', String(port), '--data', join(dir, 'data')], {
    env: { ...process.env, CASCADE_API_TOKEN: token, CASCADE_EDGES: edgesEnv, CASCADE_LOG_LEVEL: 'warn', CASCADE_LIVE: 'off', CASCADE_LADDER: LADDER },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => origin.stdout.on('data', (d) => /listening/.test(String(d)) && resolve()));
  const master = join(dir, 'm.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-t', String(SECONDS), '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', String(SECONDS), '-f', 'lavfi', '-i', 'sine', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', master]);
  const ids = [];
  for (let i = 0; i < TITLES; i++) {
    await publish(base, token, `bench-${i}`, master);
    ids.push(`bench-${i}`);
  }
  const plan = await (await fetch(`${base}/api/v1/pushes/plan`, { method: 'POST', headers: auth, body: JSON.stringify({ titles: ids, edges: 'all' }) })).json();
  const paths = plan.objects.map((o) => o.path);
  // A hot origin for both runs: every object read once.
  for (const p of paths) await (await fetch(`${base}${p}`, { headers: { 'x-cascade-push': 'bench' } })).arrayBuffer();
  console.log(`objects: ${paths.length} per edge, ${(plan.bytes / 1e6).toFixed(1)} MB per edge, 2 edges, ${CONCURRENCY} at once per edge`);

  // Reference: curl --parallel through two fresh edges.
  const curlEdges = [await varnish(base, 'curl-a'), await varnish(base, 'curl-b')];
  edgesToStop.push(...curlEdges);
  const cpu0 = cpuSec(origin.pid);
  const t0 = performance.now();
  const manifest = `${base}${plan.objects[0].path}`;
  const [, curlLat] = await withProbe(manifest, () => Promise.all(curlEdges.map((e, i) => {
    const list = join(dir, `urls-${i}.txt`);
    writeFileSync(list, paths.map((p) => `url = "${e.url}${p}"\noutput = "/dev/null"\n`).join(''));
    return new Promise((resolve, reject) => spawn('curl', ['-sS', '--fail', '--no-progress-meter', '-H', 'accept-encoding: gzip', '--parallel', '--parallel-max', String(CONCURRENCY), '-K', list], { stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`curl exit ${c}`)))));
  })));
  const curlSec = (performance.now() - t0) / 1000;
  const curlCpu = cpuSec(origin.pid) - cpu0;

  const cpu1 = cpuSec(origin.pid);
  const t1 = performance.now();
  const [p, pushLat] = await withProbe(manifest, async () => {
    const created = await (await fetch(`${base}/api/v1/pushes`, { method: 'POST', headers: auth, body: JSON.stringify({ titles: ids, edges: 'all' }) })).json();
    for (;;) {
      const r = await (await fetch(`${base}/api/v1/pushes/${created.id}`, { headers: auth })).json();
      if (['succeeded', 'failed', 'canceled'].includes(r.status)) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
  });
  const pushSec = (performance.now() - t1) / 1000;
  const transferSec = (Date.parse(p.finishedAt) - Date.parse(p.startedAt)) / 1000;
  const pushCpu = cpuSec(origin.pid) - cpu1;
  if (p.status !== 'succeeded') throw new Error(`push ${p.status}: ${JSON.stringify(p.edges)}`);

  const bytes = plan.bytes * 2;
  const rate = (s) => `${((bytes / s) * 8 / 1e6).toFixed(0)} Mbit/s`;
  console.log(`curl --parallel (reference): ${curlSec.toFixed(2)} s, ${rate(curlSec)}, origin CPU ${curlCpu.toFixed(2)} s`);
  console.log(`cascade push (warm ${process.env.BENCH_WARM ?? 'auto'}, + HEAD verify): ${pushSec.toFixed(2)} s, ${rate(pushSec)}, origin CPU ${pushCpu.toFixed(2)} s (serving and pushing)`);
  console.log(`  a player's manifest request to the origin meanwhile: p50 ${pctl(pushLat, 0.5)} ms, p99 ${pctl(pushLat, 0.99)} ms (during curl: p50 ${pctl(curlLat, 0.5)} ms, p99 ${pctl(curlLat, 0.99)} ms)`);
  console.log(`  of which planning ${(pushSec - transferSec).toFixed(2)} s (walking the manifests), transfers ${transferSec.toFixed(2)} s, ${rate(transferSec)}`);
  console.log(`ratio push/curl throughput: ${(curlSec / pushSec).toFixed(2)} end to end, ${(curlSec / transferSec).toFixed(2)} transfers only (goal ≥ 0.8)`);
} finally {
  origin?.kill('SIGKILL');
  for (const e of edgesToStop) {
    try {
      e.stop();
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
