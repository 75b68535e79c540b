/** The operator console in real headless Chromium: sign in, upload, watch the job, play, delete. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeMaster } from '../helpers/media.js';
import { startPlayerRig, type PlayerRig } from '../helpers/players.js';
import { publishTitle, startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { startVarnish, type Varnish } from '../helpers/varnish.js';
import { freePort } from '../helpers/s3rver.js';

const artefacts = new URL('../../.tmp/artefacts/', import.meta.url).pathname;
let t: TestServer;
let rig: PlayerRig;
let media: string;
let page: Page;
let edge: Varnish;
const errors: string[] = [];

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'cascade-console-'));
  await mkdir(artefacts, { recursive: true });
  // A real Varnish edge for the push section (it needs the origin's port before the origin starts).
  const port = await freePort();
  edge = await startVarnish(`http://127.0.0.1:${port}`);
  t = await startTestServer({ CASCADE_EDGES: JSON.stringify([{ name: 'varnish', kind: 'http-cache', url: edge.url }]) }, { port });
  rig = await startPlayerRig();
  page = await rig.browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message} ${e.stack?.split('\n').slice(0, 4).join(' | ')}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  page.on('dialog', (d) => void d.accept());
}, 60_000);

afterAll(async () => {
  await rig?.close();
  await t?.stop();
  await edge?.stop();
  await rm(media, { recursive: true, force: true });
});

async function step(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    await page.screenshot({ path: join(artefacts, `console-${name}.png`), fullPage: true }).catch(() => undefined);
    throw err;
  }
}

it('a wrong token is refused at the login form', async () => {
  await step('login-wrong', async () => {
    await page.goto(`${t.url}/console`);
    await page.fill('#token', 'definitely-not-the-token');
    await page.click('#login-form button');
    await page.waitForFunction(() => document.getElementById('login-error')!.textContent!.includes('not valid'));
    expect(await page.isVisible('#app')).toBe(false);
  });
});

it('signs in from the URL fragment, uploads a master, follows the job to 100 %, plays HLS and DASH, deletes', async () => {
  const master = await makeMaster(join(media, 'console.mp4'), { seconds: 6, size: '1280x720' });
  errors.length = 0; // the refused login above logged its 401 on purpose
  await step('flow', async () => {
    await page.goto(`${t.url}/console#token=${TEST_TOKEN}`);
    await page.waitForSelector('#app:not([hidden])');
    expect(page.url()).not.toContain(TEST_TOKEN);
    await page.fill('#up-title', 'from-console');
    await page.selectOption('#up-ladder', 'draft');
    await page.setInputFiles('#up-file', master);
    await page.click('#upload-form button');
    await page.waitForFunction(() => document.getElementById('up-label')!.textContent === 'succeeded', undefined, { timeout: 60_000 });
    expect(await page.getAttribute('#up-progress', 'value')).toBe('1');
    await page.waitForSelector('tr[data-title="from-console"] .status-ready');
    await page.waitForSelector('#jobs tr .status-succeeded');

    await page.click('tr[data-title="from-console"] button:has-text("Play")');
    await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 1, undefined, { timeout: 20_000 });
    expect(await page.textContent('#manifest')).toContain('#EXTM3U');
    await page.selectOption('#pl-rendition', { index: 1 });
    await page.selectOption('#pl-format', 'dash');
    await page.waitForFunction(() => document.getElementById('manifest')!.textContent!.includes('<MPD'));
    await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 1, undefined, { timeout: 20_000 });
    await page.screenshot({ path: join(artefacts, 'console.png'), fullPage: true });

    await page.click('tr[data-title="from-console"] button:has-text("Delete")');
    await page.waitForSelector('tr[data-title="from-console"]', { state: 'detached' });
  });
  expect(errors).toEqual([]);
}, 120_000);

it('creates a live channel, shows its ingest URLs, plays it live with a latency readout, stops it', async () => {
  const { publish } = await import('../helpers/live.js');
  const { stopChild } = await import('../helpers/processes.js');
  errors.length = 0;
  let pub: Awaited<ReturnType<typeof publish>> | undefined;
  try {
    await step('live', async () => {
      await page.goto(`${t.url}/console#token=${TEST_TOKEN}`);
      await page.waitForSelector('#app:not([hidden])');
      await page.fill('#lv-id', 'console-live');
      await page.selectOption('#lv-ladder', 'low');
      await page.click('#live-form button');
      await page.waitForSelector('#ingest:not([hidden])');
      const rtmp = (await page.textContent('#in-rtmp'))!;
      expect(rtmp).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live\/console-live\?key=[0-9a-f]{32}$/);
      expect(await page.textContent('#in-srt')).toMatch(/^srt:\/\//);
      await page.waitForSelector('tr[data-channel="console-live"] .status-idle');
      pub = publish(rtmp, { seconds: 60 });
      await page.waitForSelector('tr[data-channel="console-live"] .status-live', { timeout: 20_000 });
      await page.waitForFunction(() => /rtmp \d+ kb\/s/.test(document.querySelector('tr[data-channel="console-live"]')!.textContent!), undefined, { timeout: 10_000 });
      await page.click('tr[data-channel="console-live"] button:has-text("Play")');
      // The format picker still says DASH from the VOD test: live DASH plays, with its latency.
      await page.waitForFunction(() => /latency [\d.]+ s/.test(document.getElementById('pl-state')!.textContent!), undefined, { timeout: 30_000 });
      expect(await page.textContent('#manifest')).toContain('type="dynamic"');
      await page.selectOption('#pl-format', 'hls');
      await page.waitForFunction(() => document.getElementById('manifest')!.textContent!.includes('#EXTM3U'));
      await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 2, undefined, { timeout: 30_000 });
      await page.waitForFunction(() => /latency [\d.]+ s/.test(document.getElementById('pl-state')!.textContent!), undefined, { timeout: 10_000 });
      await page.screenshot({ path: join(artefacts, 'console-live.png'), fullPage: true });
      await page.click('tr[data-channel="console-live"] button:has-text("Stop")');
      await page.waitForSelector('tr[data-channel="console-live"] .status-stopped');
      // A stop on purpose is not an encoder failure (the encoder's last output once raced the stop).
      await page.waitForTimeout(1500);
      expect(await page.textContent('tr[data-channel="console-live"]')).not.toContain('LIVE_ENCODER_FAILED');
    });
  } finally {
    await stopChild(pub?.child, 'SIGKILL');
  }
  expect(errors).toEqual([]);
}, 120_000);

it('previews a push plan with bytes per edge, pushes a title and follows it to every object, schedules and cancels one', async () => {
  await publishTitle(t.url, 'pushed', await makeMaster(join(media, 'push.mp4'), { seconds: 4, size: '640x360' }));
  errors.length = 0;
  await step('push', async () => {
    await page.goto(`${t.url}/console#token=${TEST_TOKEN}`);
    await page.waitForFunction(() => document.getElementById('ps-edges')!.textContent!.includes('varnish (http-cache)'));
    await page.fill('#ps-titles', 'pushed');
    await page.fill('#ps-budget', '0.0002'); // 200 kB: the plan leaves part of the title out
    await page.click('#ps-preview');
    await page.waitForSelector('#ps-plan:not([hidden])');
    expect(await page.textContent('#ps-plan-summary')).toMatch(/^pushed \(requested\): \d+ objects, [\d.]+ kB per edge of a 200\.0 kB budget\.$/);
    expect(await page.textContent('#ps-plan-edges tbody tr')).toMatch(/^varnishhttp-cache\d+/);
    expect(await page.textContent('#ps-plan-left')).toMatch(/^Left out by the budget: \d+ objects/);
    await page.fill('#ps-budget', '');
    await page.click('#ps-go');
    await page.waitForSelector('#pushes tbody tr .status-succeeded', { timeout: 30_000 });
    const progress = await page.textContent('#pushes tbody tr [data-edge="varnish"]');
    const [done, total] = /(\d+)\/(\d+)/.exec(progress!)!.slice(1).map(Number);
    expect(done).toBe(total);
    expect(total).toBeGreaterThan(3);
    // Scheduled an hour ahead, then canceled from the table.
    await page.fill('#ps-at', await page.evaluate(() => {
      const d = new Date(Date.now() + 3600_000);
      return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    }));
    await page.click('#ps-go');
    await page.waitForSelector('#pushes tbody tr:first-child .status-scheduled');
    await page.click('#pushes tbody tr:first-child button:has-text("Cancel")');
    await page.waitForSelector('#pushes tbody tr:first-child .status-canceled');
    await page.screenshot({ path: join(artefacts, 'console-push.png'), fullPage: true });
  });
  expect(errors).toEqual([]);
}, 120_000);
