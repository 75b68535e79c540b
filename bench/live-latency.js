// Publish-to-render latency of a live channel in real players, one run:
//   hls.js low-latency mode (LL-HLS), dash.js (LL-DASH by the MPD's ServiceDescription), and
//   hls.js with low-latency mode off (plain HLS from the same playlists) as the reference.
// The source is stamped by the wall clock: ffmpeg publishes in real time (-re), and the RTMP
// server records when the publisher's timestamp 0 was sent (input.sourceClockMs, taken ~2 s in,
// after the start-up burst), so source time t left the publisher at sourceClock + t. A player's
// playing position, as a channel-clock UTC (hls.js playingDate, dash.js timeAsUTC), maps back to
// source time through the session's Period start:
//   latency = (now − position UTC) + (AST + Period@start − sourceClock).
// Prints p50/p95 per mode over SECONDS (default 60) and the ratio LL / plain. BENCH_LADDER picks the
// channel's ladder (default low: a transcode; passthrough repackages the publisher's H.264).
// Usage: npm run build && node bench/live-latency.js [seconds]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startLiveServer, testSignalPublisher } from './lib.js';

const SECONDS = Number(process.argv[2] ?? 60);
const nm = new URL('../node_modules/', import.meta.url).pathname;
const LIBS = { hls: join(nm, 'hls.js/dist/hls.min.js'), dash: join(nm, 'dashjs/dist/modern/umd/dash.all.min.js') };

const PAGE = `<!doctype html><video id="v" muted playsinline width="320"></video><script>
const q = new URLSearchParams(location.search), mode = q.get('mode'), src = q.get('src');
const v = document.getElementById('v'); window.__s = { utc: null, errors: [] };
const s = document.createElement('script'); s.src = '/lib/' + (mode === 'dash' ? 'dash' : 'hls') + '.js';
s.onload = () => {
  if (mode === 'dash') {
    const p = dashjs.MediaPlayer().create(); p.initialize(v, src, true);
    p.on(dashjs.MediaPlayer.events.ERROR, (e) => window.__s.errors.push(JSON.stringify(e.error)));
    setInterval(() => { if (!v.paused && v.currentTime > 0) window.__s.utc = p.timeAsUTC() * 1000; }, 200);
  } else {
    // LL deployments let hls.js catch up after a stall (maxLiveSyncPlaybackRate), as its docs advise.
    const h = new Hls(mode === 'll-hls' ? { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5 } : { lowLatencyMode: false }); h.loadSource(src); h.attachMedia(v);
    h.on(Hls.Events.MANIFEST_PARSED, () => v.play());
    h.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.__s.errors.push(d.details); });
    setInterval(() => { const d = h.playingDate; if (d && !v.paused) window.__s.utc = d.getTime(); }, 200);
  }
};
document.body.appendChild(s);
</script>`;

const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];

const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-live-'));
const { server, url, auth, channel } = await startLiveServer(dir, '29000-29009');
const page = createHttp((req, res) => {
  const u = new URL(req.url, 'http://x');
  const lib = /^\/lib\/(\w+)\.js$/.exec(u.pathname)?.[1];
  if (lib && LIBS[lib]) return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(LIBS[lib]));
  res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
}).listen(0, '127.0.0.1');
await new Promise((r) => page.once('listening', r));
const pageOrigin = `http://127.0.0.1:${page.address().port}`;
const ch = await channel('bench', { ladder: process.env.BENCH_LADDER ?? 'low', lowLatency: true });
const pub = spawn('ffmpeg', testSignalPublisher(ch.ingest.rtmp), { stdio: 'ignore' });
for (let i = 0; i < 100; i++) {
  const r = await fetch(`${url}/live/bench/manifest.mpd`);
  if (r.status === 200) break;
  await new Promise((r) => setTimeout(r, 200));
}
const mpd = await (await fetch(`${url}/live/bench/manifest.mpd`)).text();
const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)[1]);
const periodStart = Number(/<Period id="s\d+" start="PT(?:(\d+)H)?(?:(\d+)M)?([\d.]+)S"/.exec(mpd).slice(1).reduce((acc, v, i) => acc + (Number(v ?? 0) * [3600, 60, 1][i]), 0));
let sourceClock;
for (let i = 0; i < 50 && !sourceClock; i++) {
  await new Promise((r) => setTimeout(r, 200));
  sourceClock = (await (await fetch(`${url}/api/v1/channels/bench`, { headers: auth })).json()).input?.sourceClockMs;
}
const pipelineMs = ast + periodStart * 1000 - sourceClock;

const browser = await chromium.launch({ executablePath: process.env.CASCADE_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
const results = {};
try {
  for (const [mode, manifest] of [['ll-hls', 'master.m3u8'], ['dash', 'manifest.mpd'], ['plain-hls', 'master.m3u8']]) {
    const tab = await browser.newPage();
    await tab.goto(`${pageOrigin}/?mode=${mode}&src=${encodeURIComponent(`${url}/live/bench/${manifest}`)}`);
    const samples = [];
    const warmEnd = Date.now() + 8000; // let the player settle at its target latency
    const end = warmEnd + SECONDS * 1000;
    let errors = [];
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      const s = await tab.evaluate('window.__s');
      errors = s.errors;
      if (Date.now() > warmEnd && s.utc) samples.push((Date.now() - s.utc + pipelineMs) / 1000);
    }
    await tab.close();
    results[mode] = { p50: pct(samples, 50), p95: pct(samples, 95), n: samples.length, errors: errors.length };
    console.log(`${mode.padEnd(10)} publish-to-render p50 ${results[mode].p50.toFixed(2)} s  p95 ${results[mode].p95.toFixed(2)} s  (${samples.length} samples, ${errors.length} player errors)`);
  }
  console.log(`pipeline offset (channel clock vs the publisher's clock): ${(pipelineMs / 1000).toFixed(2)} s, included above`);
  console.log(`ratio LL-HLS / plain HLS p50: ${(results['ll-hls'].p50 / results['plain-hls'].p50).toFixed(2)}   dash.js / plain HLS: ${(results.dash.p50 / results['plain-hls'].p50).toFixed(2)}`);
} finally {
  await browser.close();
  pub.kill('SIGKILL');
  page.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
