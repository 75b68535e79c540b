import { expect, it } from 'vitest';
import { startS3rver, S3RVER_ENV } from '../helpers/s3rver.js';
import { startTestServer } from '../helpers/server.js';

it('/healthz turns 503 when the object store is gone (s3rver killed)', async () => {
  Object.assign(process.env, S3RVER_ENV);
  const s3 = await startS3rver('health');
  const t = await startTestServer({ CASCADE_S3_ENDPOINT: s3.endpoint }, { storage: 's3://health/x' });
  try {
    expect((await fetch(new URL('/healthz', t.url))).status).toBe(200);
    s3.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2100));
    const down = await fetch(new URL('/healthz', t.url));
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable' });
  } finally {
    await t.stop();
    await s3.stop();
  }
}, 60_000);
