#!/usr/bin/env node
// Encode benchmark: a Cascade VOD job (upload → probe → encode → package → publish) against plain
// ffmpeg running the very same argv (built by the same pure function), same input, same run.
// Prints wall times and the ratio (target ≤ 1.05). Usage: node bench/encode.js [seconds] [ladder]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { publish } from './lib.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/config.js';
import { createServer } from '../dist/server.js';
import { createLogger } from '../dist/shared/logger.js';
import { buildEncodeArgs, deriveEncodePlan, encodeArgv, probeSource, resolveLadder } from '../dist/ingest/index.js';
import { Supervisor } from '../dist/shared/supervisor.js';

const seconds = Number(process.argv[2] ?? 20);
const ladderName = process.argv[3] ?? 'fast';
const ffmpeg = process.env.CASCADE_FFMPEG || 'ffmpeg';
const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-'));
const master = join(dir, 'master.mp4');
const token = 'bench-token-0123456789';
try {
  execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-t', String(seconds), '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', String(seconds), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', master]);
  const ladder = resolveLadder(ladderName, 'standard');
  const source = await probeSource(new Supervisor(createLogger('silent')), process.env.CASCADE_FFPROBE || 'ffprobe', master);
  const out = join(dir, 'plain');
  mkdirSync(out);
  const argv = encodeArgv(buildEncodeArgs(deriveEncodePlan(source, ladder), master, out));

  const runPlain = () => {
    const t0 = performance.now();
    const r = spawnSync(ffmpeg, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`plain ffmpeg failed: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const server = await createServer(loadConfig({ dataDir: join(dir, 'data'), apiToken: token, port: 0 }, { ...process.env, CASCADE_LADDER: ladderName }), { logger: createLogger('silent') });
  const url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  const runCascade = async (title) => {
    const t0 = performance.now();
    await publish(url, token, title, master);
    return (performance.now() - t0) / 1000;
  };
  // Alternate the two, twice, and keep the best of each (less noise from the shared 2 cores).
  const plain = [];
  const cascade = [];
  for (let i = 0; i < 2; i++) {
    plain.push(runPlain());
    cascade.push(await runCascade(`bench${i}`));
  }
  await server.close();
  const p = Math.min(...plain);
  const c = Math.min(...cascade);
  console.log(`input: ${seconds}s 1080p30, ladder ${ladderName} (${ladder.video.map((r) => r.height + 'p').join('/')} + audio)`);
  console.log(`plain ffmpeg (same argv):        ${p.toFixed(2)} s   runs ${plain.map((x) => x.toFixed(2)).join(', ')}`);
  console.log(`cascade job (upload→published):  ${c.toFixed(2)} s   runs ${cascade.map((x) => x.toFixed(2)).join(', ')}`);
  console.log(`ratio cascade/plain: ${(c / p).toFixed(3)}  (target ≤ 1.05)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
