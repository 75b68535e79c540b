/**
 * Real players (hls.js, dash.js, Shaka) in Debian's headless Chromium, driven by
 * playwright-core. The player page is served from its own origin (another port),
 * as on a customer's site, so CORS is exercised for real.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

// Package "exports" hide the browser bundles from require.resolve: locate them from node_modules.
const nodeModules = new URL('../../node_modules/', import.meta.url).pathname;
const LIBS: Record<string, string> = {
  hls: join(nodeModules, 'hls.js/dist/hls.min.js'),
  dash: join(nodeModules, 'dashjs/dist/modern/umd/dash.all.min.js'),
  shaka: join(nodeModules, 'shaka-player/dist/shaka-player.compiled.js'),
};

/** The page: plays ?src with ?lib, pinned to the ?pick rendition, and reports into window.__state. */
const PAGE = `<!doctype html><html><body><video id="v" muted playsinline width="320"></video>
<script>
const q = new URLSearchParams(location.search);
const lib = q.get('lib'), src = q.get('src'), pick = q.get('pick'), live = q.get('live') === '1';
const v = document.getElementById('v');
window.__state = { ended: false, errors: [], time: 0, lib, latency: null, stalls: 0 };
v.addEventListener('waiting', () => { window.__state.stalls++; });
v.addEventListener('ended', () => { window.__state.ended = true; });
v.addEventListener('timeupdate', () => { window.__state.time = v.currentTime; });
v.addEventListener('error', () => window.__state.errors.push('video element: ' + (v.error && v.error.message)));
const s = document.createElement('script');
s.src = '/lib/' + lib + '.js';
s.onload = async () => {
  try {
    if (lib === 'hls') {
      const hls = new Hls({ capLevelToPlayerSize: false, enableWorker: true, lowLatencyMode: live });
      if (live) setInterval(() => { const d = hls.playingDate; if (d) window.__state.latency = (Date.now() - d.getTime()) / 1000; }, 250);
      hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.__state.errors.push('hls.js: ' + d.type + ' ' + d.details); });
      hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => {
        const idx = pick === 'lowest' ? 0 : d.levels.length - 1;
        hls.currentLevel = idx; hls.loadLevel = idx;
        window.__state.levels = d.levels.map(l => l.height);
        v.play();
      });
      hls.loadSource(src); hls.attachMedia(v);
    } else if (lib === 'dash') {
      const p = dashjs.MediaPlayer().create();
      const big = 1e9;
      p.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false }, initialBitrate: { video: pick === 'lowest' ? 1 : big } } } });
      if (live) setInterval(() => { const l = p.getCurrentLiveLatency(); if (l > 0) window.__state.latency = l; }, 250);
      p.on(dashjs.MediaPlayer.events.ERROR, (e) => window.__state.errors.push('dash.js: ' + JSON.stringify(e.error && (e.error.message || e.error.code))));
      p.initialize(v, src, true);
    } else {
      const p = new shaka.Player();
      await p.attach(v);
      p.addEventListener('error', (e) => window.__state.errors.push('shaka: ' + e.detail.code));
      p.configure({ abr: { enabled: false, defaultBandwidthEstimate: pick === 'lowest' ? 1000 : 1e9 }, restrictions: pick === 'lowest' ? { maxHeight: 400 } : { minHeight: 700 } });
      await p.load(src);
      if (live) setInterval(() => { const l = p.getStats().liveLatency; if (l > 0) window.__state.latency = l; }, 250);
      const tracks = p.getVariantTracks().sort((a, b) => a.bandwidth - b.bandwidth);
      window.__state.levels = tracks.map(t => t.height + (t.active ? '*' : ''));
      p.selectVariantTrack(pick === 'lowest' ? tracks[0] : tracks[tracks.length - 1], true);
      v.play();
    }
  } catch (e) { window.__state.errors.push(String(e && (e.message || e.code || e))); }
};
document.body.appendChild(s);
</script></body></html>`;

export interface PlayerRig { pageOrigin: string; browser: Browser; close(): Promise<void> }

export async function startPlayerRig(): Promise<PlayerRig> {
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const lib = /^\/lib\/(\w+)\.js$/.exec(url.pathname)?.[1];
    if (lib && LIBS[lib]) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(LIBS[lib]));
    } else if (url.pathname === '/player.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  // playwright gives every launch a fresh temporary profile (the --user-data-dir the notes ask for).
  const browser = await chromium.launch({
    executablePath: process.env.CASCADE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    headless: true,
  });
  return {
    pageOrigin: `http://127.0.0.1:${port}`,
    browser,
    close: async () => {
      await browser.close();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface LiveWatch { errors: string[]; advancedSec: number; latencies: number[]; stalls: number }

/**
 * Opens a live stream and watches it for `seconds`: how far currentTime advanced, the latency
 * the player reports (hls.js: now − EXT-X-PROGRAM-DATE-TIME of the playing position), errors.
 * `during` runs while the page plays (e.g. an encoder drop and return).
 */
export async function watchLive(rig: PlayerRig, lib: 'hls' | 'dash' | 'shaka', src: string, seconds: number, during?: () => Promise<void>): Promise<LiveWatch> {
  const page = await rig.browser.newPage();
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    await page.goto(`${rig.pageOrigin}/player.html?lib=${lib}&pick=lowest&live=1&src=${encodeURIComponent(src)}`);
    const state = async (): Promise<{ errors: string[]; time: number; latency: number | null; stalls: number }> => page.evaluate('window.__state') as never;
    // Wait for playback to start (up to 20 s), then measure.
    const startBy = Date.now() + 20_000;
    let s = await state();
    while (s.time <= 0 && s.errors.length === 0 && Date.now() < startBy) {
      await new Promise((r) => setTimeout(r, 200));
      s = await state();
    }
    const t0 = s.time;
    const latencies: number[] = [];
    const task = during?.();
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 500));
      s = await state();
      if (s.latency !== null) latencies.push(s.latency);
      if (s.errors.length) break;
    }
    await task;
    s = await state();
    return { errors: [...s.errors, ...consoleErrors], advancedSec: s.time - t0, latencies, stalls: s.stalls };
  } finally {
    await page.close();
  }
}

export interface PlayResult { ended: boolean; errors: string[]; time: number; videoSegments: string[]; requests: number; levels?: unknown }

/** Plays `src` to its end (at 2× speed once started) and reports errors and which video segments were fetched. */
export async function playToEnd(rig: PlayerRig, lib: 'hls' | 'dash' | 'shaka', src: string, pick: 'lowest' | 'highest', timeoutMs = 60_000): Promise<PlayResult> {
  const page = await rig.browser.newPage();
  const videoSegments: string[] = [];
  let requests = 0;
  page.on('request', (r) => {
    requests++;
    const m = /\/([^/]+)\/(\d+)\.m4s$/.exec(new URL(r.url()).pathname);
    if (m && m[1] !== 'audio') videoSegments.push(`${m[1]}/${m[2]}${r.headers().range ? `[${r.headers().range}]` : ''}`);
  });
  try {
    await page.goto(`${rig.pageOrigin}/player.html?lib=${lib}&pick=${pick}&src=${encodeURIComponent(src)}`);
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = (await page.evaluate('window.__state')) as { ended: boolean; errors: string[]; time: number };
      if (s.ended || s.errors.length > 0 || Date.now() > end) return { ...s, videoSegments, requests, levels: (s as { levels?: unknown }).levels } as PlayResult;
      if (s.time > 0.5) await page.evaluate('document.getElementById("v").playbackRate = 2');
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await page.close();
  }
}
