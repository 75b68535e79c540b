/**
 * Job lifecycle under real faults: cancel mid-encode, a stalled ffmpeg (SIGSTOP),
 * and the server itself killed (SIGKILL) mid-encode and restarted.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { freePort } from '../helpers/s3rver.js';
import { spawnServe, stopChild } from '../helpers/processes.js';
import { api, filesUnder, startTestServer, TEST_TOKEN, uploadSource, waitJob } from '../helpers/server.js';

let media: string;
let master: string;

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'cascade-jobs-'));
  master = await makeMaster(join(media, 'long.mp4'), { seconds: 40, size: '1280x720' });
}, 60_000);
afterAll(async () => rm(media, { recursive: true, force: true }));

async function upload(base: string, title: string, query = '?ladder=standard'): Promise<string> {
  const r = await uploadSource(base, title, master, query);
  expect(r.status).toBe(202);
  return r.json.job.id;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ffmpegsFor = (dir: string): number[] => {
  try {
    return execFileSync('pgrep', ['-f', `ffmpeg.*${dir}`]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** No ffmpeg, no work or upload files, no title objects. */
async function expectNothingLeft(t: Awaited<ReturnType<typeof startTestServer>>): Promise<void> {
  expect(ffmpegsFor(t.dataDir)).toEqual([]);
  expect(await filesUnder(join(t.dataDir, 'work'))).toEqual([]);
  expect(await filesUnder(join(t.dataDir, 'uploads'))).toEqual([]);
  const objects: string[] = [];
  for await (const o of t.server.store.list('titles/')) objects.push(o.key);
  expect(objects).toEqual([]);
}

describe('cancel and stall', () => {
  it('DELETE on a running job kills ffmpeg and leaves nothing', async () => {
    const t = await startTestServer();
    try {
      const id = await upload(t.url, 'cancel-me');
      await until(async () => ((await api(t.url, 'GET', `/api/v1/jobs/${id}`)).json.progress > 0.05 ? true : undefined));
      expect(ffmpegsFor(t.dataDir).length).toBe(1);
      const r = await api(t.url, 'DELETE', `/api/v1/jobs/${id}`);
      expect(r.status).toBe(200);
      expect(r.json.status).toBe('canceled');
      expect(r.json.error.code).toBe('JOB_CANCELED');
      await expectNothingLeft(t);
      expect((await api(t.url, 'DELETE', `/api/v1/jobs/${id}`)).json.error.code).toBe('JOB_NOT_CANCELABLE');
      expect((await api(t.url, 'GET', '/api/v1/titles/cancel-me')).json.status).toBe('failed');
    } finally {
      await t.stop();
    }
  }, 60_000);

  it('ffmpeg killed (SIGKILL) mid-encode: the job fails with ENCODE_FAILED and the signal, nothing is published or left', async () => {
    const t = await startTestServer();
    try {
      const id = await upload(t.url, 'crash');
      await until(async () => ((await api(t.url, 'GET', `/api/v1/jobs/${id}`)).json.progress > 0.05 ? true : undefined));
      const [pid] = ffmpegsFor(t.dataDir);
      process.kill(pid, 'SIGKILL');
      const job = await waitJob(t.url, id, 20_000);
      expect(job.status).toBe('failed');
      expect(job.error.code).toBe('ENCODE_FAILED');
      expect(job.error.message).toMatch(/SIGKILL|signal/i);
      await expectNothingLeft(t);
    } finally {
      await t.stop();
    }
  }, 60_000);

  it('a stalled ffmpeg (SIGSTOP) is killed and the job fails with ENCODE_STALLED', async () => {
    const t = await startTestServer({ CASCADE_ENCODE_STALL_SEC: '2' });
    try {
      const id = await upload(t.url, 'stall');
      const pid = await until(async () => ffmpegsFor(t.dataDir)[0]);
      await until(async () => ((await api(t.url, 'GET', `/api/v1/jobs/${id}`)).json.stage === 'encoding' ? true : undefined));
      process.kill(pid, 'SIGSTOP');
      const job = await waitJob(t.url, id, 20_000);
      expect(job.status).toBe('failed');
      expect(job.error.code).toBe('ENCODE_STALLED');
      expect(ffmpegsFor(t.dataDir)).toEqual([]);
      expect(await filesUnder(join(t.dataDir, 'work'))).toEqual([]);
    } finally {
      await t.stop();
    }
  }, 60_000);
});

it('uploads of one title run in order even with free workers; versions publish in upload order', async () => {
  const t = await startTestServer({ CASCADE_JOB_CONCURRENCY: '2' });
  try {
    const small = await makeMaster(join(media, 'small.mp4'), { seconds: 4, size: '640x360' });
    const put = async (): Promise<string> => (await uploadSource(t.url, 'twice', small)).json.job.id;
    const [a, b, c] = [await put(), await put(), await put()];
    const jobs = [await waitJob(t.url, a), await waitJob(t.url, b), await waitJob(t.url, c)];
    expect(jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const title = (await api(t.url, 'GET', '/api/v1/titles/twice')).json;
    expect(title.version).toBe(jobs[2].version);
    // the current and the previous version are kept, the oldest pruned
    expect((await readdir(join(t.dataDir, 'store/titles/twice'))).sort()).toEqual(['current.json', jobs[1].version, jobs[2].version].sort());
  } finally {
    await t.stop();
  }
}, 60_000);

it('a job interrupted more often than its attempts allow fails with JOB_INTERRUPTED and leaves nothing', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cascade-interrupted-'));
  try {
    const id = 'jinterrupted0001';
    const now = new Date().toISOString();
    await mkdir(join(dataDir, 'jobs'), { recursive: true });
    await mkdir(join(dataDir, 'uploads', id), { recursive: true });
    await mkdir(join(dataDir, 'work', id, 'out'), { recursive: true });
    await writeFile(join(dataDir, 'uploads', id, 'source'), 'x');
    await writeFile(join(dataDir, 'work', id, 'out', 'partial.mp4'), 'x');
    const record = { id, titleId: 'gone', version: 'vx', status: 'running', stage: 'encoding', progress: 0.5, createdAt: now, updatedAt: now, attempts: 2, ladder: '{}', sourceBytes: 1 };
    await writeFile(join(dataDir, 'jobs', `${id}.json`), JSON.stringify(record));
    const t = await startTestServer({ CASCADE_JOB_MAX_ATTEMPTS: '2' }, { dataDir });
    try {
      const job = (await api(t.url, 'GET', `/api/v1/jobs/${id}`)).json;
      expect(job).toMatchObject({ status: 'failed', error: { code: 'JOB_INTERRUPTED' } });
      expect(await filesUnder(join(dataDir, 'uploads'))).toEqual([]);
      expect(await filesUnder(join(dataDir, 'work'))).toEqual([]);
    } finally {
      await t.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe('server killed mid-encode', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => stopChild(child, 'SIGKILL'));

  const serve = async (dataDir: string, port: number): Promise<ChildProcess> =>
    (await spawnServe(dataDir, { port, env: { CASCADE_API_TOKEN: TEST_TOKEN } })).child;

  it('the restarted server kills the orphan ffmpeg, retries the job once and publishes', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cascade-restart-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    try {
      child = await serve(dataDir, port);
      const id = await upload(base, 'survivor', '?ladder=fast');
      await until(async () => ((await api(base, 'GET', `/api/v1/jobs/${id}`)).json.progress > 0.05 ? true : undefined));
      const orphan = ffmpegsFor(dataDir);
      expect(orphan.length).toBe(1);
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      // The fault is real: the encoder outlives its parent.
      expect(ffmpegsFor(dataDir)).toEqual(orphan);

      child = await serve(dataDir, port);
      await until(async () => (ffmpegsFor(dataDir).every((p) => !orphan.includes(p)) ? true : undefined), 10_000);
      const job = await waitJob(base, id, 180_000);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      const all = (await api(base, 'GET', '/api/v1/jobs')).json.jobs;
      expect(all.map((j: any) => j.id)).toEqual([id]);
      const title = (await api(base, 'GET', '/api/v1/titles/survivor')).json;
      expect(title.status).toBe('ready');
      expect((await fetch(new URL(title.playback.hls, base))).status).toBe(200);
      // Exactly one version was published.
      expect((await readdir(join(dataDir, 'store/titles/survivor'))).sort()).toEqual(['current.json', title.version].sort());
      expect(await filesUnder(join(dataDir, 'work'))).toEqual([]);
      expect(await filesUnder(join(dataDir, 'uploads'))).toEqual([]);
    } finally {
      await stopChild(child);
      child = undefined;
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
