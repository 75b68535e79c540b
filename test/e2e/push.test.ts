/**
 * Pre-positioning against real edges: two Varnish instances and an nginx proxy_cache (with the
 * shipped deploy/ configs) in front of a real `cascade serve`, and an s3rver bucket edge. Pushes go
 * through the public API; every object is then checked on the edge itself (a HIT, or the same bytes
 * in the bucket), players through an edge never reach the origin, an edge that is down fails alone,
 * a push killed mid-way resumes without redoing what it finished, and deleting a title purges it.
 */
import { S3Client, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { runCli, spawnServe, stopChild, type ServeProcess } from '../helpers/processes.js';
import { TEST_TOKEN, api, publishTitle } from '../helpers/server.js';
import { startVarnish, type Varnish } from '../helpers/varnish.js';
import { startNginxEdge, type NginxEdge } from '../helpers/nginx.js';
import { S3RVER_ENV, freePort, startS3rver, type S3rver } from '../helpers/s3rver.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { playToEnd, startPlayerRig } from '../helpers/players.js';

const json = (b: unknown): [string, Record<string, string>] => [JSON.stringify(b), { 'content-type': 'application/json' }];

describe('push to real edges', () => {
  let dir: string;
  let port: number;
  let origin: ServeProcess;
  let env: Record<string, string>;
  let varnishA: Varnish;
  let varnishB: Varnish;
  let nginx: NginxEdge;
  let s3: S3rver;
  let slow: CountingProxy;
  let s3proxy: CountingProxy;
  let bucket: S3Client;

  const start = async (): Promise<void> => {
    origin = await spawnServe(join(dir, 'data'), { port, env });
  };
  const post = async (path: string, body: unknown): Promise<{ status: number; json: any }> => api(origin.url, 'POST', path, ...json(body));
  const waitPush = async (id: string, until: (p: any) => boolean = (p) => ['succeeded', 'failed', 'canceled'].includes(p.status), timeoutMs = 90_000): Promise<any> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { json: p } = await api(origin.url, 'GET', `/api/v1/pushes/${id}`);
      if (until(p)) return p;
      if (Date.now() > end) throw new Error(`push ${id}: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** Origin requests for playback objects so far (from its /metrics). */
  const originPlaybackRequests = async (): Promise<number> => {
    const text = await (await fetch(`${origin.url}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(/^cascade_http_requests_total\{route="(segment|init|hls-playlist|dash-mpd)",status="\d+"\} (\d+)$/gm)) n += Number(m[2]);
    return n;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-push-'));
    port = await freePort();
    const originUrl = `http://127.0.0.1:${port}`;
    [varnishA, varnishB, nginx, s3] = await Promise.all([startVarnish(originUrl), startVarnish(originUrl), startNginxEdge(originUrl), startS3rver('edge-b')]);
    // varnish-b is reached through a counting proxy, warmed by GET and capped at 400 kB/s: slow enough
    // to kill mid-push. The others warm by HEAD (Varnish and nginx fetch the whole object on a HEAD miss).
    slow = await startCountingProxy(varnishB.url);
    s3proxy = await startCountingProxy(s3.endpoint); // shows the multipart requests of bucket-mp
    const downPort = await freePort();
    const edges = [
      { name: 'varnish-a', kind: 'http-cache', url: varnishA.url, purge: 'ban' },
      { name: 'nginx', kind: 'http-cache', url: nginx.url, purgePrefix: '/purge' },
      { name: 'bucket', kind: 's3', bucket: 'edge-b', prefix: 'cdn/', endpoint: s3.endpoint },
      { name: 'bucket-mp', kind: 's3', bucket: 'edge-b', prefix: 'mp/', endpoint: s3proxy.url, multipartBytes: 5 * 1024 * 1024 },
      { name: 'varnish-b', kind: 'http-cache', url: slow.url, maxBytesPerSec: 400_000, concurrency: 2, warm: 'get' },
      { name: 'down', kind: 'http-cache', url: `http://127.0.0.1:${downPort}` },
    ];
    env = { ...S3RVER_ENV, CASCADE_API_TOKEN: TEST_TOKEN, CASCADE_LADDER: 'draft', CASCADE_EDGES: JSON.stringify(edges), CASCADE_PUSH_TIMEOUT_MS: '5000' };
    await start();
    const master = await makeMaster(join(dir, 'm.mp4'), { seconds: 8, size: '640x360' });
    await publishTitle(origin.url, 'alpha', master);
    await publishTitle(origin.url, 'beta', master);
    bucket = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  }, 180_000);

  afterAll(async () => {
    await stopChild(origin?.child, 'SIGKILL');
    bucket?.destroy();
    await Promise.all([varnishA?.stop(), varnishB?.stop(), nginx?.stop(), s3?.stop(), slow?.close(), s3proxy?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('plans from the manifests the origin serves: every HLS and DASH object, bytes per edge, a budget respected', async () => {
    const full = await post('/api/v1/pushes/plan', { titles: ['alpha', 'beta'], edges: ['varnish-a', 'bucket'] });
    expect(full.status).toBe(200);
    const paths: string[] = full.json.objects.map((o: any) => o.path);
    expect(new Set(paths).size).toBe(paths.length);
    const alpha = (await api(origin.url, 'GET', '/api/v1/titles/alpha')).json;
    // What a player requests: multivariant, MPD, each media playlist, each init segment, each segment.
    for (const r of alpha.renditions) {
      expect(paths).toContain(`/vod/alpha/${alpha.version}/${r.id}/media.m3u8`);
      expect(paths).toContain(`/vod/alpha/${alpha.version}/${r.id}/init.mp4`);
      expect(paths).toContain(`/vod/alpha/${alpha.version}/${r.id}/1.m4s`);
    }
    expect(paths).toContain(alpha.playback.hls);
    expect(paths).toContain(alpha.playback.dash);
    expect(full.json.edges).toEqual([
      { name: 'varnish-a', kind: 'http-cache', objects: paths.length, bytes: full.json.bytes },
      { name: 'bucket', kind: 's3', objects: paths.length, bytes: full.json.bytes },
    ]);
    expect(full.json.leftOut).toEqual([]);

    const budget = Math.floor(full.json.bytes * 0.4);
    const part = await post('/api/v1/pushes/plan', { titles: ['alpha', 'beta'], edges: 'all', budgetBytesPerEdge: budget });
    expect(part.json.bytes).toBeLessThanOrEqual(budget);
    expect(part.json.objectsLeftOut).toBeGreaterThan(0);
    expect(part.json.bytes + part.json.bytesLeftOut).toBe(full.json.bytes);
    expect(part.json.leftOut.every((g: any) => g.reason === 'budget' && g.objects > 0 && g.toSec > g.fromSec)).toBe(true);
    // Manifests and init segments of both titles first, then both titles' first seconds.
    const kinds = part.json.objects.map((o: any) => o.kind);
    expect(kinds.filter((k: string) => k !== 'segment').length).toBe(full.json.objects.filter((o: any) => o.kind !== 'segment').length);
    for (const t of ['alpha', 'beta']) expect(part.json.objects.some((o: any) => o.titleId === t && o.kind === 'segment' && o.startSec === 0)).toBe(true);
  });

  it('top N follows the demand the origin measured; an upcoming release is always in', async () => {
    const beta = (await api(origin.url, 'GET', '/api/v1/titles/beta')).json;
    for (let i = 0; i < 5; i++) await fetch(`${origin.url}/vod/beta/${beta.version}/${beta.renditions[0].id}/${1 + (i % 2)}.m4s`).then((r) => r.arrayBuffer());
    const top = await post('/api/v1/pushes/plan', { top: 1, edges: ['varnish-a'] });
    expect(top.json.titles.map((t: any) => [t.id, t.reason])).toEqual([['beta', 'top']]);
    expect(top.json.titles[0].demand).toBeGreaterThan(0);
    // The watched rendition ranks before the others within the title.
    const release = new Date(Date.now() + 3600_000).toISOString();
    expect((await api(origin.url, 'PUT', '/api/v1/titles/alpha/release', ...json({ releaseAt: release }))).json.releaseAt).toBe(release);
    const withRelease = await post('/api/v1/pushes/plan', { top: 1, edges: ['varnish-a'] });
    expect(withRelease.json.titles.map((t: any) => [t.id, t.reason])).toEqual([
      ['alpha', 'upcoming-release'],
      ['beta', 'top'],
    ]);
    await api(origin.url, 'PUT', '/api/v1/titles/alpha/release', ...json({ releaseAt: null }));
  });

  it('pushes to Varnish, nginx and a bucket: every object is a HIT or in the bucket, and players through the edges never reach the origin', async () => {
    const created = await post('/api/v1/pushes', { titles: ['alpha', 'beta'], edges: ['varnish-a', 'nginx', 'bucket'] });
    expect(created.status).toBe(201);
    expect(created.json.objectsTotal).toBeGreaterThan(0);
    const p = await waitPush(created.json.id);
    expect(p.status, JSON.stringify(p.edges)).toBe('succeeded');
    expect(p.objectsDone).toBe(p.objectsTotal);
    for (const e of p.edges) expect([e.name, e.objectsDone, e.failed]).toEqual([e.name, e.objectsTotal, false]);
    const plan = (await api(origin.url, 'GET', `/api/v1/pushes/${p.id}/plan`)).json;

    for (const o of plan.objects) {
      for (const edge of [varnishA.url, nginx.url]) {
        const r = await fetch(`${edge}${o.path}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
        await r.arrayBuffer();
        expect([o.path, edge, r.status, r.headers.get('x-cache')]).toEqual([o.path, edge, 200, 'HIT']);
      }
      // The bucket holds the same bytes as the origin serves, under the same path.
      const obj = await bucket.send(new GetObjectCommand({ Bucket: 'edge-b', Key: `cdn${o.path}` }));
      const stored = Buffer.from(await obj.Body!.transformToByteArray());
      const served = Buffer.from(await (await fetch(`${origin.url}${o.path}`, { headers: { 'x-cascade-push': 'test' } })).arrayBuffer());
      expect(stored.equals(served), o.path).toBe(true);
      if (o.kind === 'segment') expect(obj.CacheControl).toContain('immutable');
    }

    // Real players through each cache edge: the origin sees none of their requests.
    const before = await originPlaybackRequests();
    const rig = await startPlayerRig();
    try {
      const alpha = (await api(origin.url, 'GET', '/api/v1/titles/alpha')).json;
      const hls = await playToEnd(rig, 'hls', `${varnishA.url}${alpha.playback.hls}`, 'lowest');
      expect(hls.errors).toEqual([]);
      expect(hls.ended).toBe(true);
      const dash = await playToEnd(rig, 'dash', `${nginx.url}${alpha.playback.dash}`, 'highest');
      expect(dash.errors).toEqual([]);
      expect(dash.ended).toBe(true);
    } finally {
      await rig.close();
    }
    expect(await originPlaybackRequests()).toBe(before);
    const metrics = await (await fetch(`${origin.url}/metrics`)).text();
    expect(metrics).toMatch(/cascade_push_objects_total\{edge="bucket",result="done"\} [1-9]/);
  }, 180_000);

  it('objects above the multipart threshold reach an s3 edge whole, uploaded in parts', async () => {
    // 4 s segments at 20 Mb/s: about 9 MB each, above the edge's 5 MiB threshold.
    const ladder = JSON.stringify({ base: 'draft', x264Preset: 'ultrafast', segmentSec: 4, keyframeIntervalSec: 2, video: [{ height: 720, bitrateKbps: 20000 }] });
    await publishTitle(origin.url, 'big', await makeMaster(join(dir, 'big.mp4'), { seconds: 8, size: '1280x720' }), `?ladder=${encodeURIComponent(ladder)}`);
    const created = await post('/api/v1/pushes', { titles: ['big'], edges: ['bucket-mp'] });
    const p = await waitPush(created.json.id);
    expect(p.status, JSON.stringify(p.edges)).toBe('succeeded');
    const plan = (await api(origin.url, 'GET', `/api/v1/pushes/${p.id}/plan`)).json;
    const big = plan.objects.filter((o: any) => o.bytes >= 5 * 1024 * 1024);
    expect(big.length).toBeGreaterThan(0);
    for (const o of big) {
      const obj = await bucket.send(new GetObjectCommand({ Bucket: 'edge-b', Key: `mp${o.path}` }));
      const stored = Buffer.from(await obj.Body!.transformToByteArray());
      const served = Buffer.from(await (await fetch(`${origin.url}${o.path}`, { headers: { 'x-cascade-push': 'test' } })).arrayBuffer());
      expect(stored.equals(served), o.path).toBe(true);
      // CreateMultipartUpload and CompleteMultipartUpload (POSTs), parts as PUTs, no single PutObject.
      expect(s3proxy.count('POST', `/edge-b/mp${o.path}`), o.path).toBe(2);
      expect(s3proxy.count('PUT', `/edge-b/mp${o.path}`), o.path).toBeGreaterThanOrEqual(2);
    }
    await api(origin.url, 'DELETE', '/api/v1/titles/big');
  }, 120_000);

  it('an edge that is down fails alone: retried, reported per edge, the others complete', async () => {
    const created = await post('/api/v1/pushes', { titles: ['alpha'], edges: ['down', 'varnish-a'] });
    const p = await waitPush(created.json.id);
    expect(p.status).toBe('failed');
    expect(p.error.code).toBe('PUSH_EDGE_FAILED');
    const down = p.edges.find((e: any) => e.name === 'down');
    const ok = p.edges.find((e: any) => e.name === 'varnish-a');
    expect(down.failed).toBe(true);
    expect(down.objectsDone).toBe(0);
    expect(down.failures[0].code).toBe('EDGE_UNREACHABLE');
    expect(ok.failed).toBe(false);
    expect(ok.objectsDone).toBe(ok.objectsTotal);
    // varnish-a already had every object (pushed above): nothing was moved again.
    expect(ok.objectsPresent).toBe(ok.objectsTotal);
  }, 60_000);

  it('cascade push: plan with a budget, run to the end with --json, ls, release', async () => {
    const cli = (args: string[]): ReturnType<typeof runCli> => runCli(['push', ...args, '--server', origin.url, '--token', TEST_TOKEN]);
    const plan = await cli(['plan', '--titles', 'alpha', '--edges', 'varnish-a,bucket', '--budget', '300kB']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/^titles \(1\):\n {2}alpha\t\S+\trequested/m);
    expect(plan.stdout).toMatch(/of a 300 kB budget/);
    expect(plan.stdout).toMatch(/^left out by the budget: \d+ objects/m);
    expect(plan.stdout).toMatch(/^ {2}varnish-a\thttp-cache\t\d+ objects/m);
    const run = await cli(['run', '--titles', 'alpha', '--edges', 'varnish-a', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const p = JSON.parse(run.stdout);
    expect([p.status, p.objectsDone]).toEqual(['succeeded', p.objectsTotal]);
    const ls = await cli(['ls']);
    expect(ls.stdout).toMatch(/^edges: varnish-a \(http-cache\), nginx \(http-cache\), bucket \(s3\)/m);
    expect(ls.stdout).toContain(`${p.id}\tsucceeded`);
    const rel = await cli(['release', 'alpha', '2030-01-01T20:00:00Z']);
    expect(rel.stdout).toMatch(/releases at 2030-01-01T20:00:00.000Z/);
    expect((await cli(['release', 'alpha', 'none'])).stdout).toMatch(/no release time/);
    const bad = await cli(['plan', '--budget', 'lots']);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringMatching(/expected a size like 50GB/)]);
  }, 60_000);

  it('validates requests with stable codes', async () => {
    expect((await post('/api/v1/pushes', { titles: ['alpha'], edges: ['nope'] })).json.error.code).toBe('EDGE_NOT_FOUND');
    expect((await post('/api/v1/pushes', { titles: ['ghost'], edges: 'all' })).status).toBe(404);
    expect((await post('/api/v1/pushes', { titles: ['alpha'], at: 'tomorrow' })).json.error.code).toBe('INVALID_REQUEST');
    expect((await post('/api/v1/pushes', { titles: ['alpha'], budgetBytesPerEdge: 10 })).json.error.code).toBe('PUSH_NOTHING_SELECTED');
    expect((await post('/api/v1/pushes', { titles: ['alpha'], colour: 'red' })).status).toBe(400);
    expect((await api(origin.url, 'GET', '/api/v1/pushes/push_nope')).json.error.code).toBe('PUSH_NOT_FOUND');
    expect((await fetch(`${origin.url}/api/v1/pushes`)).status).toBe(401);
    const done = (await api(origin.url, 'GET', '/api/v1/pushes')).json.pushes.find((p: any) => p.status === 'succeeded');
    expect((await api(origin.url, 'DELETE', `/api/v1/pushes/${done.id}`)).json.error.code).toBe('PUSH_NOT_CANCELABLE');
  });

  it('killed mid-push, the server resumes it after a restart without redoing finished objects; a scheduled push survives the restart, one whose release passed does not run', async () => {
    slow.reset();
    const created = await post('/api/v1/pushes', { titles: ['alpha', 'beta'], edges: ['varnish-b'] });
    const total = created.json.objectsTotal;
    const scheduled = await post('/api/v1/pushes', { titles: ['alpha'], edges: ['varnish-a'], at: new Date(Date.now() + 4000).toISOString() });
    expect(scheduled.json.status).toBe('scheduled');
    // Due while the server is down, and its release passes too: it must not run late.
    const missed = await post('/api/v1/pushes', { titles: ['alpha'], edges: ['varnish-a'], at: new Date(Date.now() + 1000).toISOString(), releaseAt: new Date(Date.now() + 2000).toISOString() });
    // Mid-push by bytes (the first objects are small manifests), and once the journal (written in
    // 100 ms batches) has something in it.
    const journalFile = join(dir, 'data', 'pushes', `${created.json.id}.varnish-b.done`);
    const journalLines = async (): Promise<string[]> => (await readFile(journalFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    await waitPush(created.json.id, (p) => p.bytesDone >= created.json.bytesTotal * 0.3);
    for (let i = 0; i < 20 && (await journalLines()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await stopChild(origin.child, 'SIGKILL');
    const journal = await journalLines();
    expect(journal.length).toBeGreaterThan(0);
    expect(journal.length).toBeLessThan(total);
    await new Promise((r) => setTimeout(r, 4500)); // the scheduled push's time passes while the server is down
    await start();
    const p = await waitPush(created.json.id);
    expect(p.status, JSON.stringify(p)).toBe('succeeded');
    expect(p.edges[0].objectsDone).toBe(total);
    // Objects recorded as done before the kill were not requested again.
    for (const path of journal) expect(slow.counts.get(`GET ${path}`), path).toBe(1);
    const s = await waitPush(scheduled.json.id);
    expect(s.status).toBe('succeeded');
    const m = await waitPush(missed.json.id);
    expect([m.status, m.error?.code]).toEqual(['failed', 'PUSH_MISSED']);
  }, 120_000);

  it('a running push can be canceled: in-flight transfers stop, progress shows in /metrics until then', async () => {
    const created = await post('/api/v1/pushes', { titles: ['beta'], edges: ['varnish-b', 'down'] });
    await waitPush(created.json.id, (p) => p.status === 'running' && p.objectsDone > 0);
    expect(await (await fetch(`${origin.url}/metrics`)).text()).toMatch(new RegExp(`cascade_push_progress_ratio\\{push="${created.json.id}",edge="varnish-b"\\} 0\\.\\d+`));
    const canceled = await api(origin.url, 'DELETE', `/api/v1/pushes/${created.json.id}`);
    expect(canceled.status).toBe(200);
    expect(canceled.json.status).toBe('canceled');
    slow.reset();
    await new Promise((r) => setTimeout(r, 1500));
    expect(slow.counts.size).toBe(0);
    expect((await api(origin.url, 'GET', `/api/v1/pushes/${created.json.id}`)).json.status).toBe('canceled');
  }, 60_000);

  it('deleting a title purges it from every edge (BAN on Varnish, cache_purge on nginx, deletes in the bucket)', async () => {
    const beta = (await api(origin.url, 'GET', '/api/v1/titles/beta')).json;
    const seg = `/vod/beta/${beta.version}/${beta.renditions[0].id}/1.m4s`;
    for (const edge of [varnishA.url, nginx.url]) expect((await fetch(`${edge}${seg}`).then(async (r) => (await r.arrayBuffer(), r))).headers.get('x-cache')).toBe('HIT');
    expect((await api(origin.url, 'DELETE', '/api/v1/titles/beta')).status).toBe(204);
    const keys = async (): Promise<number> => (await bucket.send(new ListObjectsV2Command({ Bucket: 'edge-b', Prefix: 'cdn/vod/beta/' }))).KeyCount ?? 0;
    const end = Date.now() + 20_000;
    while ((await keys()) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    expect(await keys()).toBe(0);
    for (const edge of [varnishA.url, nginx.url]) {
      const r = await fetch(`${edge}${seg}`);
      await r.arrayBuffer();
      // Gone from the cache: the edge asks the origin, which no longer has it.
      expect([edge, r.status, r.headers.get('x-cache')]).toEqual([edge, 404, 'MISS']);
    }
    // alpha is untouched.
    const alpha = (await api(origin.url, 'GET', '/api/v1/titles/alpha')).json;
    expect((await fetch(`${varnishA.url}/vod/alpha/${alpha.version}/${alpha.renditions[0].id}/1.m4s`)).headers.get('x-cache')).toBe('HIT');
  }, 60_000);
});
