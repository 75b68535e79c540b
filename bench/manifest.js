#!/usr/bin/env node
// Manifest benchmark: a 2-hour title with 6 renditions (5 video + audio, 4 s segments).
// Cold = rendering from the timeline model (first request of a version); cached = a request answered
// from the origin's rendered-text cache, through fastify inject. Reference in the same run: the same
// bytes returned by a bare fastify route (the floor for any request through the framework).
import Fastify from 'fastify';
import { renderVodMediaPlaylist, renderVodMpd, renderVodMultivariant } from '../dist/packager/index.js';
import { buildApp } from '../dist/origin/index.js';
import { createLogger } from '../dist/shared/logger.js';

const SEG = 4;
const DURATION = 7200;
const n = DURATION / SEG;
const video = [[1920, 1080, 5000], [1280, 720, 3000], [960, 540, 2000], [854, 480, 1400], [640, 360, 800]];
const seg = (ts, kbps, jitter) => Array.from({ length: n }, (_, i) => ({ number: i + 1, time: i * SEG * ts, duration: SEG * ts, offset: i * 1000, size: Math.round(((kbps * 1000) / 8) * SEG * (1 + 0.2 * Math.sin(i * jitter))) }));
const timeline = {
  schema: 1, titleId: 'long', version: 'v1', publishedAt: '2026-01-01T00:00:00.000Z', durationSec: DURATION, segmentTargetSec: SEG,
  renditions: [
    ...video.map(([w, h, kbps]) => ({ id: `${h}p`, kind: 'video', codecs: 'avc1.64001f', timescale: 15360, width: w, height: h, sar: [1, 1], frameRate: [30, 1], object: `${h}p.mp4`, init: { offset: 0, size: 800 }, segments: seg(15360, kbps, 0.37), bandwidth: { peak: kbps * 1200, average: kbps * 1000 } })),
    { id: 'audio', kind: 'audio', codecs: 'mp4a.40.2', timescale: 48000, sampleRate: 48000, channels: 2, object: 'audio.mp4', init: { offset: 0, size: 700 }, segments: seg(48000, 128, 0.11), bandwidth: { peak: 131000, average: 128000 } },
  ],
};

const time = (fn, iters) => {
  for (let i = 0; i < Math.min(3, iters); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / iters;
};
const cold = {
  'master.m3u8': time(() => renderVodMultivariant(timeline), 200),
  '1080p/media.m3u8': time(() => renderVodMediaPlaylist(timeline, '1080p'), 50),
  'manifest.mpd': time(() => renderVodMpd(timeline), 50),
};

const catalog = { timeline: async () => timeline, current: async () => ({ version: 'v1', publishedAt: timeline.publishedAt }) };
const { app } = buildApp({ logger: createLogger('silent'), catalog, store: {}, ingest: {}, apiToken: 'x'.repeat(20), corsAllowedOrigins: ['*'] });
await app.ready();
const bare = Fastify();
const texts = { 'master.m3u8': renderVodMultivariant(timeline), '1080p/media.m3u8': renderVodMediaPlaylist(timeline, '1080p'), 'manifest.mpd': renderVodMpd(timeline) };
bare.get('/*', async (req, reply) => reply.type('text/plain').send(texts[req.params['*']]));
await bare.ready();
const perRequest = async (inst, url, iters) => {
  for (let i = 0; i < 20; i++) await inst.inject(url);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) await inst.inject(url);
  return Number(process.hrtime.bigint() - t0) / 1e6 / iters;
};
console.log(`title: ${DURATION / 3600} h, ${timeline.renditions.length} renditions, ${n} segments each`);
console.log('object              bytes    cold render   cached request   bare route (ref)   cached/ref');
for (const name of Object.keys(texts)) {
  const cached = await perRequest(app, `/vod/long/v1/${name}`, 300);
  const ref = await perRequest(bare, `/${name}`, 300);
  console.log(`${name.padEnd(18)} ${String(texts[name].length).padStart(7)}   ${cold[name].toFixed(3).padStart(8)} ms   ${cached.toFixed(3).padStart(10)} ms   ${ref.toFixed(3).padStart(12)} ms   ${(cached / ref).toFixed(2).padStart(8)}×`);
}
await app.close();
await bare.close();
