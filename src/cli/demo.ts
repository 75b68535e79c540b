/** `cascade demo`: a generated sample title through the whole VOD path on the embedded default. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from '../server.js';
import { ApiClient } from './client.js';
import type { ProgressReporter } from './progress.js';

export const DEMO_TITLE = 'sample';

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
    if (!io.json) {
      io.print(`\nCascade demo is running at ${url}`);
      io.print(`Console:   ${url}/console#token=${server.apiToken}`);
      io.print(`API token: ${server.apiToken}`);
      io.print(`\nVOD title "${title.id}": ${title.durationSec}s, renditions ${title.renditions.map((r) => r.id).join(', ')}`);
      io.print(`  HLS:  ${hls}`);
      io.print(`  DASH: ${dash}`);
      io.print(`  try:  ffplay ${hls}`);
      io.print(`\nNot in this version yet: the sample live channel (live ingest is a later milestone).`);
    }
    return { url, console: `${url}/console#token=${server.apiToken}`, apiToken: server.apiToken, title: title.id, playback: { hls, dash }, renditions: title.renditions.map((r) => r.id) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
