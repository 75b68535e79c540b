/** Bad input gets a stable code and the right status, and leaves nothing behind. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { api, filesUnder, startTestServer, TEST_TOKEN, uploadSource, waitJob, type TestServer } from '../helpers/server.js';

let t: TestServer;
let dir: string;
const LIMIT = 8 * 1024 * 1024;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-bad-'));
  t = await startTestServer({ CASCADE_MAX_UPLOAD_BYTES: String(LIMIT), CASCADE_UPLOAD_IDLE_SEC: '1' });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function nothingLeft(title: string): Promise<void> {
  expect(await filesUnder(join(t.dataDir, 'uploads'))).toEqual([]);
  expect(await filesUnder(join(t.dataDir, 'work'))).toEqual([]);
  const objects: string[] = [];
  for await (const o of t.server.store.list(`titles/${title}/`)) objects.push(o.key);
  expect(objects).toEqual([]);
  expect(t.server.supervisor.running).toBe(0);
}

const uploadFile = (title: string, file: string): Promise<any> => uploadSource(t.url, title, file);

async function failsWith(title: string, file: string, code: string): Promise<void> {
  const r = await uploadFile(title, file);
  expect(r.status).toBe(202);
  const job = await waitJob(t.url, r.json.job.id);
  expect(job.status).toBe('failed');
  expect(job.error.code, job.error.message).toBe(code);
  expect(job.error.message.length).toBeGreaterThan(10);
  const view = await api(t.url, 'GET', `/api/v1/titles/${title}`);
  expect(view.json).toMatchObject({ status: 'failed', playback: null, error: { code } });
  await nothingLeft(title);
}

describe('sources that are not usable media fail fast with a stable code', () => {
  it('zero bytes → SOURCE_EMPTY', async () => {
    const f = join(dir, 'empty.mp4');
    await writeFile(f, '');
    await failsWith('empty', f, 'SOURCE_EMPTY');
  });
  it('random bytes → SOURCE_NOT_MEDIA', async () => {
    const f = join(dir, 'random.bin');
    await writeFile(f, randomBytes(64 * 1024));
    await failsWith('random', f, 'SOURCE_NOT_MEDIA');
  });
  it('a text file → SOURCE_NOT_MEDIA', async () => {
    const f = join(dir, 'notes.txt');
    await writeFile(f, 'This is not a video.\n'.repeat(200));
    await failsWith('text', f, 'SOURCE_NOT_MEDIA');
  });
  it('a truncated mp4 (index at the end, cut off) → SOURCE_TRUNCATED', async () => {
    const full = await makeMaster(join(dir, 'full.mp4'), { seconds: 4, size: '320x240' });
    const buf = await readFile(full);
    const f = join(dir, 'cut.mp4');
    await writeFile(f, buf.subarray(0, Math.floor(buf.length / 2)));
    await failsWith('truncated', f, 'SOURCE_TRUNCATED');
  });
  it('a truncated mp4 (index first, media cut off) → SOURCE_TRUNCATED', async () => {
    const full = await makeMaster(join(dir, 'fs.mp4'), { seconds: 10, size: '320x240', extra: ['-movflags', '+faststart'] });
    const buf = await readFile(full);
    const f = join(dir, 'fs-cut.mp4');
    await writeFile(f, buf.subarray(0, Math.floor(buf.length * 0.4)));
    await failsWith('truncated2', f, 'SOURCE_TRUNCATED');
  }, 60_000);
});

describe('unusual but valid sources are normalised, not refused', () => {
  it('audio-only master → an audio-only title', async () => {
    const f = await makeMaster(join(dir, 'audio.m4a'), { seconds: 6, video: false });
    const job = await waitJob(t.url, (await uploadFile('radio', f)).json.job.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const v = (await api(t.url, 'GET', '/api/v1/titles/radio')).json;
    expect(v.renditions.map((r: any) => r.kind)).toEqual(['audio']);
    const master = await (await fetch(new URL(v.playback.hls, t.url))).text();
    expect(master).toMatch(/CODECS="mp4a\.40\.2"\n/);
  });
  it('video-only master → a video-only title', async () => {
    const f = await makeMaster(join(dir, 'silent.mp4'), { seconds: 6, size: '640x360', audio: false });
    const job = await waitJob(t.url, (await uploadFile('silent', f)).json.job.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const v = (await api(t.url, 'GET', '/api/v1/titles/silent')).json;
    expect(v.renditions.map((r: any) => r.kind)).toEqual(['video']);
    const master = await (await fetch(new URL(v.playback.hls, t.url))).text();
    expect(master).not.toMatch(/AUDIO=/);
  });
  it('odd size, anamorphic, rotated, 10-bit, interlaced, VFR, mono and 5.1 sources', async () => {
    const variants: Array<[string, Parameters<typeof makeMaster>[1], (v: any) => void]> = [
      ['odd', { seconds: 4, size: '642x362', audioChannels: 1 }, (v) => expect(v.renditions[0]).toMatchObject({ width: 638, height: 360 })],
      ['anamorphic', { seconds: 4, size: '720x576', extra: ['-aspect', '4:3'] }, (v) => expect(v.renditions[0]).toMatchObject({ width: 480, height: 360 })],
      ['rotated', { seconds: 4, size: '640x360', rotate90: true }, (v) => expect(v.renditions[0]).toMatchObject({ width: 360, height: 640 })],
      ['tenbit', { seconds: 4, size: '640x360', audioChannels: 6, vcodec: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le'] }, (v) => expect(v.renditions[0].codecs).toMatch(/^avc1\.(42|4d|64)/) /* 8-bit profiles, not High 10 (6e) */],
      ['interlaced', { seconds: 4, size: '720x480', vcodec: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-flags', '+ilme+ildct', '-top', '1'] }, (v) => expect(v.renditions[0].height).toBe(360)],
      ['vfr', { seconds: 4, size: '640x360', extra: ['-vf', "setpts='if(lt(N,30),N/30,(N-30)/15+1)/TB'", '-fps_mode', 'vfr'] }, (v) => expect(v.renditions[0].frameRate).toBeGreaterThan(0)],
    ];
    for (const [name, opts, check] of variants) {
      const f = await makeMaster(join(dir, `${name}.mp4`), opts);
      const job = await waitJob(t.url, (await uploadFile(name, f)).json.job.id);
      expect(job.status, `${name}: ${JSON.stringify(job.error)}`).toBe('succeeded');
      const v = (await api(t.url, 'GET', `/api/v1/titles/${name}`)).json;
      check(v);
      expect(v.renditions.at(-1)).toMatchObject({ kind: 'audio', channels: 2, sampleRate: 48000 });
    }
  }, 120_000);
});

describe('requests that are refused outright', () => {
  afterEach(async () => {
    expect(await filesUnder(join(t.dataDir, 'uploads'))).toEqual([]);
  });
  it('ids with ../ or other unsafe characters → 400 INVALID_ID', async () => {
    for (const id of ['..%2Fetc', '%2E%2E', 'a..b', '-lead', 'x%00y', 'a'.repeat(129), 'caf%C3%A9']) {
      const r = await api(t.url, 'PUT', `/api/v1/titles/${id}/source`, 'abc', { 'content-type': 'application/octet-stream' });
      expect([400, 404], id).toContain(r.status);
      if (r.status === 400) expect(r.json.error.code, id).toBe('INVALID_ID');
    }
    const r = await api(t.url, 'PUT', '/api/v1/titles/..%2Fx/source', 'abc');
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('INVALID_ID');
  });
  it('over the size limit → 413, announced or streamed', async () => {
    const big = Buffer.alloc(LIMIT + 1);
    const announced = await api(t.url, 'PUT', '/api/v1/titles/big/source', big, { 'content-type': 'application/octet-stream' });
    expect(announced.status).toBe(413);
    expect(announced.json.error.code).toBe('UPLOAD_TOO_LARGE');
    const streamed = await api(t.url, 'PUT', '/api/v1/titles/big/source', Readable.from((function* () {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(1024 * 1024);
    })()) as never, { 'content-type': 'application/octet-stream' });
    expect(streamed.status).toBe(413);
    expect((await api(t.url, 'GET', '/api/v1/titles/big')).status).toBe(404);
  });
  it('a client that disconnects mid-upload leaves no file and no job', async () => {
    const before = (await api(t.url, 'GET', '/api/v1/jobs')).json.jobs.length;
    const u = new URL(t.url);
    await new Promise<void>((resolve) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        sock.write(`PUT /api/v1/titles/dropped/source HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Length: 5000000\r\n\r\n`);
        sock.write(Buffer.alloc(200_000));
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 200);
      });
    });
    for (let i = 0; i < 50 && (await filesUnder(join(t.dataDir, 'uploads'))).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await api(t.url, 'GET', '/api/v1/jobs')).json.jobs.length).toBe(before);
    expect((await api(t.url, 'GET', '/api/v1/titles/dropped')).status).toBe(404);
  });

  it('a body that stops arriving (short Content-Length, chunked without its end) → 408 UPLOAD_STALLED, nothing kept', async () => {
    const u = new URL(t.url);
    const before = (await api(t.url, 'GET', '/api/v1/jobs')).json.jobs.length;
    const heads = [
      `PUT /api/v1/titles/stalled/source HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Length: 5000000\r\n\r\n`,
      `PUT /api/v1/titles/stalled/source HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ];
    for (const [i, head] of heads.entries()) {
      const answer = await new Promise<string>((resolve) => {
        let got = '';
        const sock = connect(Number(u.port), u.hostname, () => {
          sock.write(head);
          // Some media, then nothing more: the connection stays open.
          sock.write(i === 0 ? Buffer.alloc(100_000) : Buffer.concat([Buffer.from('186a0\r\n'), Buffer.alloc(100_000), Buffer.from('\r\n')]));
        });
        sock.on('data', (d) => (got += d.toString()));
        sock.on('close', () => resolve(got));
        setTimeout(() => sock.destroy(), 8000);
      });
      expect(answer, answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toMatch(/"code":"UPLOAD_STALLED"/);
    }
    expect(await filesUnder(join(t.dataDir, 'uploads'))).toEqual([]);
    expect((await api(t.url, 'GET', '/api/v1/jobs')).json.jobs.length).toBe(before);
    expect((await api(t.url, 'GET', '/api/v1/titles/stalled')).status).toBe(404);
  }, 20_000);

  it('a bad ladder → 400 INVALID_LADDER before anything is stored', async () => {
    const r = await api(t.url, 'PUT', '/api/v1/titles/lad/source?ladder=bogus', 'abc', { 'content-type': 'application/octet-stream' });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('INVALID_LADDER');
  });
  it('no token, a wrong token, or a token in the query → 401', async () => {
    const paths = ['/api/v1/titles', '/api/v1/jobs/x', '/api/v1/titles/x'];
    for (const p of paths) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TEST_TOKEN}` }] as Array<Record<string, string>>) {
        const r = await fetch(new URL(p, t.url), { headers });
        expect(r.status, p).toBe(401);
        expect((await r.json()).error.code).toBe('UNAUTHORIZED');
      }
      expect((await fetch(new URL(`${p}?token=${TEST_TOKEN}`, t.url))).status).toBe(401);
    }
    const put = await fetch(new URL('/api/v1/titles/x/source', t.url), { method: 'PUT', body: 'abc' });
    expect(put.status).toBe(401);
  });
  it('unknown jobs, titles and channels → 404 with codes; bad channel options → 400; pushes without edges → 409 NO_EDGES', async () => {
    expect((await api(t.url, 'GET', '/api/v1/jobs/nope')).json.error.code).toBe('JOB_NOT_FOUND');
    expect((await api(t.url, 'DELETE', '/api/v1/jobs/nope')).status).toBe(404);
    expect((await api(t.url, 'GET', '/api/v1/titles/nope')).json.error.code).toBe('TITLE_NOT_FOUND');
    expect((await api(t.url, 'GET', '/api/v1/channels/nope')).json.error.code).toBe('CHANNEL_NOT_FOUND');
    expect((await api(t.url, 'DELETE', '/api/v1/channels/nope')).status).toBe(404);
    const json = { 'content-type': 'application/json' };
    for (const [body, code] of [
      ['{"ladder":"4k"}', 'INVALID_LADDER'],
      ['{"dvrWindowSec":1}', 'INVALID_REQUEST'],
      ['{"dvrWindowSec":"lots"}', 'INVALID_REQUEST'],
      ['{"lowLatency":"yes"}', 'INVALID_REQUEST'],
      ['[1,2]', 'INVALID_REQUEST'],
      ['{not json', 'INVALID_REQUEST'],
    ] as const) {
      const r = await api(t.url, 'PUT', '/api/v1/channels/c1', body, json);
      expect(r.status, body).toBe(400);
      expect(r.json.error.code, body).toBe(code);
    }
    const badId = await api(t.url, 'PUT', `/api/v1/channels/${'x'.repeat(200)}`, '{}', json);
    expect(badId.json.error.code).toBe('INVALID_ID');
    expect((await api(t.url, 'GET', '/api/v1/channels')).json.channels).toEqual([]);
    expect((await api(t.url, 'GET', '/live/nope/master.m3u8')).json.error.code).toBe('CHANNEL_NOT_FOUND');
    const push = await api(t.url, 'POST', '/api/v1/pushes', '{}', json);
    expect(push.status).toBe(409);
    expect(push.json.error.code).toBe('NO_EDGES');
  });
});
