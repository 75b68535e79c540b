/** `cascade demo`: a generated sample title through the whole VOD path, and a live channel fed by a test signal, on the embedded default. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from '../server.js';
import { ApiClient } from './client.js';
import type { ProgressReporter } from './progress.js';

export const DEMO_TITLE = 'sample';
export const DEMO_CHANNEL = 'demo-live';

/** ffmpeg arguments of the demo's live publisher: a moving test pattern (testsrc2) and a tone, forever, over RTMP. */
export function demoPublisherArgs(rtmpUrl: string): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '60', '-keyint_min', '60', '-pix_fmt', 'yuv420p', '-b:v', '1200k',
    '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', rtmpUrl,
  ];
}

/** ffmpeg arguments of the generated master: 20 s 720p test pattern with a tone, H.264/AAC. */
export function sampleMasterArgs(path: string, seconds = 20): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-t', String(seconds), '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
    '-t', String(seconds), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k',
    '-movflags', '+faststart', path,
  ];
}

export async function runDemo(server: Server, url: string, io: { json: boolean; print: (s: string) => void; progress: ProgressReporter }): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-demo-'));
  try {
    const master = join(dir, 'sample.mp4');
    if (!io.json) io.print('Generating a 20 s sample master with ffmpeg...');
    const gen = await server.supervisor.exec('ffmpeg-sample', server.config.ffmpegPath, sampleMasterArgs(master), { timeoutMs: 120_000 });
    if (gen.code !== 0) throw new Error(`ffmpeg could not generate the sample: ${gen.stderr.trim().split('\n').pop()}`);
    const api = new ApiClient(url, server.apiToken);
    const job = await api.upload(DEMO_TITLE, master, { ladder: 'fast' });
    const final = await api.waitJob(job.id, (j) => {
      if (!io.json) io.progress.update(j.status === 'queued' ? 'queued' : j.stage, j.progress);
    });
    io.progress.done();
    if (final.status !== 'succeeded') throw new Error(`the sample job ${final.status}: ${final.error?.code} ${final.error?.message}`);
    const title = await api.title(DEMO_TITLE);
    const hls = new URL(title.playback!.hls, url).toString();
    const dash = new URL(title.playback!.dash, url).toString();
    // A sample live channel fed by a generated signal (its publisher is a supervised child: it
    // stops with the server).
    const channel = await api.putChannel(DEMO_CHANNEL, { lowLatency: true, ladder: 'low' });
    const publisher = server.supervisor.spawn('demo-publisher', server.config.ffmpegPath, demoPublisherArgs(channel.ingest.rtmp), ['ignore', 'ignore', 'ignore']);
    publisher.on('error', () => undefined);
    // Report once the channel is live (its first segment exists), so the printed URLs play at once.
    let state = channel.state;
    for (let i = 0; i < 60 && state !== 'live'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      state = (await api.channels()).channels.find((c) => c.id === DEMO_CHANNEL)?.state ?? state;
    }
    const liveHls = new URL(channel.playback.hls, url).toString();
    const liveDash = new URL(channel.playback.dash, url).toString();
    if (!io.json) {
      io.print(`\nCascade demo is running at ${url}`);
      io.print(`Console:   ${url}/console#token=${server.apiToken}`);
      io.print(`API token: ${server.apiToken}`);
      io.print(`\nVOD title "${title.id}": ${title.durationSec}s, renditions ${title.renditions.map((r) => r.id).join(', ')}`);
      io.print(`  HLS:  ${hls}`);
      io.print(`  DASH: ${dash}`);
      io.print(`  try:  ffplay ${hls}`);
      io.print(`\nLive channel "${channel.id}" (${state}; low latency, fed by a generated test signal over RTMP):`);
      io.print(`  LL-HLS: ${liveHls}`);
      io.print(`  DASH:   ${liveDash}`);
      io.print(`  RTMP ingest: ${channel.ingest.rtmp}`);
      io.print(`  SRT ingest:  ${channel.ingest.srt}`);
    }
    return {
      url,
      console: `${url}/console#token=${server.apiToken}`,
      apiToken: server.apiToken,
      title: title.id,
      playback: { hls, dash },
      renditions: title.renditions.map((r) => r.id),
      live: { channel: channel.id, state, playback: { hls: liveHls, dash: liveDash }, ingest: { rtmp: channel.ingest.rtmp, srt: channel.ingest.srt } },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
