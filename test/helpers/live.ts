/** Live test rig: real ffmpeg publishers (RTMP, SRT) feeding a real Cascade channel. */
import { spawn, type ChildProcess } from 'node:child_process';
import { api } from './server.js';

export interface Publisher { child: ChildProcess; stderr: () => string; exited: Promise<number | null> }

/**
 * Publishes a generated test signal (testsrc2 + 1 kHz sine, H.264/AAC, 2 s GOP) in real time to
 * `url` over RTMP (FLV) or SRT (MPEG-TS) for `seconds`. `video: 'hevc'` sends H.265 instead.
 */
export function publish(url: string, opts: { seconds?: number; video?: 'h264' | 'hevc' | 'none'; size?: string } = {}): Publisher {
  const seconds = String(opts.seconds ?? 60);
  const srt = url.startsWith('srt://');
  const video = opts.video ?? 'h264';
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (video !== 'none') args.push('-re', '-f', 'lavfi', '-t', seconds, '-i', `testsrc2=size=${opts.size ?? '640x360'}:rate=30`);
  args.push('-re', '-f', 'lavfi', '-t', seconds, '-i', 'sine=frequency=1000:sample_rate=48000');
  if (video === 'h264') args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '60', '-keyint_min', '60', '-pix_fmt', 'yuv420p', '-b:v', '800k');
  if (video === 'hevc') args.push('-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-g', '60', '-pix_fmt', 'yuv420p');
  args.push('-c:a', 'aac', '-b:a', '96k');
  if (srt) args.push('-f', 'mpegts', url);
  else args.push('-f', 'flv', url);
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

export async function createChannel(base: string, id: string, body: Record<string, unknown> = {}): Promise<any> {
  const r = await api(base, 'PUT', `/api/v1/channels/${id}`, JSON.stringify({ ladder: 'low', ...body }), { 'content-type': 'application/json' });
  if (r.status !== 201 && r.status !== 200) throw new Error(`channel ${id}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Polls the channel until `pred` holds. */
export async function waitChannel(base: string, id: string, pred: (c: any) => boolean, timeoutMs = 30_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await api(base, 'GET', `/api/v1/channels/${id}`);
    if (pred(json)) return json;
    if (Date.now() > end) throw new Error(`channel ${id} never reached the expected state: ${JSON.stringify(json)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Fetches text with timing. */
export async function timedGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; ms: number; headers: Headers }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0, headers: res.headers };
}

/** Waits until the media playlist of `rendition` lists at least `segments` complete segments. */
export async function waitSegments(base: string, channel: string, rendition: string, segments: number, timeoutMs = 40_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${base}/live/${channel}/${rendition}/media.m3u8`);
    const text = r.status === 200 ? await r.text() : '';
    if ((text.match(/#EXTINF/g) ?? []).length >= segments) return text;
    if (Date.now() > end) throw new Error(`${rendition} never reached ${segments} segments: ${r.status} ${text.slice(-400)}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}
