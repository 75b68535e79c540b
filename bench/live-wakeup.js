// Blocking playlist reload wake-up: how long after a part becomes available a client blocked on
// it (_HLS_msn/_HLS_part) has the playlist that lists it. CLIENTS concurrent clients follow the
// preload hints of one rendition for SECONDS; the part's availability time is the arrival time of
// the media that completed it (stamped by the packager, same process and clock as the client).
// Reference in the same run: a plain GET of the same playlist by the same clients (round trip
// of an answer that is ready), so the ratio says what blocking adds on top of an HTTP exchange.
// The clients run in a worker thread (their own event loop, the same clock), so their parsing
// does not delay the server they measure.
// Usage: npm run build && node bench/live-wakeup.js [seconds] [clients]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startLiveServer, testSignalPublisher } from './lib.js';

const SECONDS = Number(process.argv[2] ?? 30);
const CLIENTS = Number(process.argv[3] ?? 50);
const now = () => performance.timeOrigin + performance.now();
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];


if (!isMainThread) {
  const { playlist, seconds, clients } = workerData;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients * 2 });
  const get = (u) =>
    new Promise((resolve, reject) => {
      http.get(u, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode, text: body }));
      }).on('error', reject);
    });
  const hint = (text) => {
    const m = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"/.exec(text);
    return m && [Number(m[1]), Number(m[2])];
  };
  const end = Date.now() + seconds * 1000;
  const client = async () => {
    let next = hint((await get(playlist)).text);
    while (Date.now() < end && next) {
      const [msn, part] = next;
      const res = await get(`${playlist}?_HLS_msn=${msn}&_HLS_part=${part}`);
      const got = now();
      if (res.status === 200 && res.text.includes(`URI="${msn}.${part}.m4s"`)) parentPort.postMessage({ kind: 'wake', msn, part, got });
      // Reference: the same playlist, answered at once.
      const t0 = now();
      await get(playlist);
      parentPort.postMessage({ kind: 'plain', ms: now() - t0 });
      next = hint(res.text);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  agent.destroy();
  parentPort.postMessage({ kind: 'done' });
} else {
const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-wakeup-'));
const { server, url, auth, channel } = await startLiveServer(dir, '29100-29109');
const ch = await channel('bench', { ladder: 'passthrough', lowLatency: true });
const pub = spawn('ffmpeg', testSignalPublisher(ch.ingest.rtmp), { stdio: 'ignore' });
const playlist = `${url}/live/bench/source/media.m3u8`;
for (let i = 0; i < 100 && (await fetch(playlist)).status !== 200; i++) await new Promise((r) => setTimeout(r, 200));

const rendition = server.channels.get('bench').timeline.rendition('source');
const readyAt = (msn, part) => rendition.segments.find((s) => s.msn === msn)?.parts[part]?.readyAt;
const wakeups = [];
const plain = [];
const worker = new Worker(new URL(import.meta.url), { workerData: { playlist, seconds: SECONDS, clients: CLIENTS } });
await new Promise((resolve, reject) => {
  worker.on('error', reject);
  worker.on('message', (m) => {
    if (m.kind === 'wake') {
      const at = readyAt(m.msn, m.part);
      if (at !== undefined) wakeups.push(m.got - at);
    } else if (m.kind === 'plain') plain.push(m.ms);
    else resolve();
  });
});
const w = wakeups.filter((x) => x >= 0);
console.log(`${CLIENTS} clients, ${SECONDS} s: ${w.length} blocked reloads woken by a new part`);
console.log(`wake-up (part available → playlist received): p50 ${pct(w, 50).toFixed(2)} ms  p99 ${pct(w, 99).toFixed(2)} ms  max ${Math.max(...w).toFixed(2)} ms`);
console.log(`reference, plain GET of the same playlist:     p50 ${pct(plain, 50).toFixed(2)} ms  p99 ${pct(plain, 99).toFixed(2)} ms`);
console.log(`ratio p99 wake-up / p99 plain GET: ${(pct(w, 99) / pct(plain, 99)).toFixed(2)}`);
pub.kill('SIGKILL');
await server.close();
rmSync(dir, { recursive: true, force: true });
}
