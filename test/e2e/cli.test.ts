/** The CLI as users run it: `cascade serve`, `cascade ingest` (plain-line progress off a TTY), `cascade demo`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { freePort } from '../helpers/s3rver.js';
import { runCli, spawnServe, stopChild } from '../helpers/processes.js';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/cascade.js');

const run = runCli;

describe('cascade serve + ingest', () => {
  let dir: string;
  let server: ChildProcess;
  let base: string;
  let banner = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-cli-'));
    ({ child: server, url: base, banner } = await spawnServe(join(dir, 'data'), { cwd: dir, env: { CASCADE_API_TOKEN: '' }, waitFor: 'API token' }));
  });
  afterAll(async () => {
    await stopChild(server);
    await rm(dir, { recursive: true, force: true });
  });

  it('serve generates a token, stores it (mode 600) and prints it', async () => {
    const token = (await readFile(join(dir, 'data/api-token'), 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(banner).toContain(token);
    expect((await import('node:fs')).statSync(join(dir, 'data/api-token')).mode & 0o777).toBe(0o600);
  });

  it('ingest uploads, reports progress as plain lines, prints playback URLs, exit 0', async () => {
    const master = await makeMaster(join(dir, 'in.mp4'), { seconds: 6, size: '640x360' });
    const r = await run(['ingest', master, '--title', 'cli-title', '--server', base, '--ladder', 'draft', '--data', join(dir, 'data')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^upload 100%$/m);
    expect(r.stderr).toMatch(/^encoding \d+%$/m);
    expect(r.stdout).toMatch(/title cli-title ready/);
    const hls = /HLS:\s+(\S+)/.exec(r.stdout)![1];
    expect((await fetch(hls)).status).toBe(200);
  }, 60_000);

  it('ingest --json and a ladder file', async () => {
    const master = await makeMaster(join(dir, 'in2.mp4'), { seconds: 4, size: '640x360' });
    const ladder = join(dir, 'ladder.json');
    await writeFile(ladder, JSON.stringify({ base: 'draft', video: [{ height: 240, bitrateKbps: 300 }] }));
    const r = await run(['ingest', master, '--title', 'cli-json', '--server', base, '--ladder', ladder, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.title.renditions.map((x: any) => x.id)).toEqual(['240p', 'audio']);
  }, 60_000);

  it('ingest of a bad file exits non-zero with the reason', async () => {
    const bad = join(dir, 'bad.mp4');
    await writeFile(bad, 'not a video');
    const r = await run(['ingest', bad, '--title', 'cli-bad', '--server', base], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SOURCE_NOT_MEDIA/);
  });

  it('usage errors and unreachable servers are clear', async () => {
    expect((await run(['ingest'])).code).toBe(2);
    const help = await run(['ingest', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/exit 0 when the title is published/);
    expect((await run(['bogus'])).code).toBe(2);
    const r = await run(['ingest', bin, '--title', 'x', '--server', 'http://127.0.0.1:1', '--token', 'x'.repeat(20)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach/);
    // Pushes need edges: this server has none configured.
    const push = await run(['push', 'plan', '--json', '--server', base, '--data', join(dir, 'data')]);
    expect(push.code).toBe(1);
    expect(JSON.parse(push.stdout).error.code).toBe('NO_EDGES');
    expect((await run(['push', 'frobnicate', '--server', base, '--data', join(dir, 'data')])).code).toBe(2);
  });

  it('live create / ls / stop / rm', async () => {
    const data = ['--server', base, '--data', join(dir, 'data')];
    const c = await run(['live', 'create', 'cli-ch', '--low-latency', '--dvr', '60', '--ladder', 'low', ...data]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^RTMP: rtmp:\/\/127\.0\.0\.1:\d+\/live\/cli-ch\?key=[0-9a-f]{32}$/m);
    expect(c.stdout).toMatch(/^SRT:  srt:\/\/127\.0\.0\.1:\d+\?mode=caller&passphrase=/m);
    expect(c.stdout).toMatch(new RegExp(`^HLS:  ${base}/live/cli-ch/master\\.m3u8$`, 'm'));
    const ls = await run(['live', 'ls', '--json', ...data]);
    expect(JSON.parse(ls.stdout).channels.map((x: any) => [x.id, x.state, x.lowLatency, x.dvrWindowSec])).toEqual([['cli-ch', 'idle', true, 60]]);
    expect((await run(['live', 'stop', 'cli-ch', ...data])).stdout).toMatch(/stopped/);
    expect((await run(['live', 'rm', 'cli-ch', ...data])).code).toBe(0);
    const gone = await run(['live', 'rm', 'cli-ch', '--json', ...data]);
    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.stdout).error.code).toBe('CHANNEL_NOT_FOUND');
    expect((await run(['live', 'create', ...data])).code).toBe(2);
  });
});

it('cascade demo --json --exit-when-ready publishes the sample and prints its URLs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-demo-'));
  try {
    const port = await freePort();
    const r = await run(['demo', '--port', String(port), '--json', '--exit-when-ready'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.playback.hls).toMatch(new RegExp(`^http://127.0.0.1:${port}/vod/sample/v\\w+/master.m3u8$`));
    expect(out.renditions).toEqual(['720p', '480p', '360p', 'audio']);
    expect(out.console).toBe(`http://127.0.0.1:${port}/console#token=${out.apiToken}`);
    // The sample live channel was live (fed by the demo's generated signal) before the demo reported.
    expect(out.live.state).toBe('live');
    expect(out.live.playback.hls).toBe(`http://127.0.0.1:${port}/live/demo-live/master.m3u8`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
