/**
 * A full disk, for real: the data directory and the object store on a small tmpfs. An upload
 * that does not fit and an encode that runs out of space both fail with a clear error, leave no
 * partial title, no temp files and no process, and the server keeps serving what it had.
 * Needs root to mount the tmpfs (CI runs as root); elsewhere it says so and skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeMaster } from '../helpers/media.js';
import { TEST_TOKEN, api, filesUnder, publishTitle, startTestServer, uploadSource, waitJob, type TestServer } from '../helpers/server.js';

const execFileP = promisify(execFile);
const mnt = mkdtempSync(join(tmpdir(), 'cascade-full-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=25m', 'tmpfs', mnt], { stdio: 'pipe' });
  mounted = true;
} catch (err) {
  console.warn(`disk-full tests skipped: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
}

describe.skipIf(!mounted)('disk full', () => {
  let t: TestServer;
  let media: string;
  let keep: any;

  beforeAll(async () => {
    media = mkdtempSync(join(tmpdir(), 'cascade-full-media-'));
    t = await startTestServer({ CASCADE_STORAGE: `file://${join(mnt, 'store')}` }, { dataDir: join(mnt, 'data') });
    keep = await publishTitle(t.url, 'keep', await makeMaster(join(media, 'small.mp4'), { seconds: 4, size: '640x360' }), '?ladder=draft');
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    if (mounted) execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
    rmSync(media, { recursive: true, force: true });
  });

  it('an upload larger than the free space → 507 INSUFFICIENT_STORAGE, nothing kept', async () => {
    const big = join(media, 'big.bin');
    writeFileSync(big, Buffer.alloc(60 * 1024 * 1024, 7));
    // curl as the client: Node's own http client drops an early answer once its write fails (EPIPE).
    // (async: the server runs in this process)
    const out = await execFileP('curl', ['-s', '-m', '60', '-w', '\n%{http_code}', '-X', 'PUT', '-H', `Authorization: Bearer ${TEST_TOKEN}`, '-H', 'Content-Type: application/octet-stream', '--data-binary', `@${big}`, `${t.url}/api/v1/titles/too-big/source`], { encoding: 'utf8' }).then((x) => x.stdout);
    const [body, code] = [out.slice(0, out.lastIndexOf('\n')), out.slice(out.lastIndexOf('\n') + 1)];
    const r = { status: Number(code), body };
    expect(r.status).toBe(507);
    expect(JSON.parse(r.body).error.code).toBe('INSUFFICIENT_STORAGE');
    expect((await api(t.url, 'GET', '/api/v1/titles/too-big')).status).toBe(404);
    expect((await filesUnder(join(mnt, 'data', 'uploads'))).length).toBe(0);
  });

  it('an encode that runs out of space fails with the reason; no partial title, no temp files, no ffmpeg', async () => {
    // A master that fits (≈ 10 MB), whose ladder does not (720p + 480p + 360p, ≈ 20 MB for 30 s).
    const master = join(media, 'fits.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine', '-t', '30',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '36', '-pix_fmt', 'yuv420p', '-c:a', 'aac', master]);
    const up = await uploadSource(t.url, 'no-room', master, '?ladder=standard');
    expect(up.status).toBe(202);
    const job = await waitJob(t.url, up.json.job.id, 180_000);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('INSUFFICIENT_STORAGE');
    const view = (await api(t.url, 'GET', '/api/v1/titles/no-room')).json;
    expect(view.status).toBe('failed');
    expect(view.playback ?? null).toBeNull();
    expect(await filesUnder(join(mnt, 'data', 'work'))).toEqual([]);
    expect(await filesUnder(join(mnt, 'data', 'uploads'))).toEqual([]);
    expect((await filesUnder(join(mnt, 'store'))).filter((f) => f.includes('no-room'))).toEqual([]);
    expect(t.server.supervisor.running).toBe(0);
    // The title published before the disk filled still plays.
    const m = await fetch(new URL(keep.playback.hls, t.url));
    expect(m.status).toBe(200);
    const seg = (await fetch(new URL(keep.playback.hls.replace('master.m3u8', `${keep.renditions[0].id}/1.m4s`), t.url)));
    expect(seg.status).toBe(200);
  }, 240_000);
});
