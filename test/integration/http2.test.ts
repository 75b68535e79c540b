/** HTTP/2: cleartext with prior knowledge, and TLS (HTTP/2 negotiated, HTTP/1.1 still served). */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-h2-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function h2get(origin: string, path: string): Promise<{ status: number; body: string; alpn?: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, { rejectUnauthorized: false });
    session.on('error', reject);
    const req = session.request({ ':path': path });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const alpn = (session.socket as { alpnProtocol?: string }).alpnProtocol;
      session.close();
      resolve({ status, body, alpn });
    });
    req.on('error', reject);
    req.end();
  });
}

it('h2c: HTTP/2 with prior knowledge', async () => {
  const t = await startTestServer({ CASCADE_HTTP2: 'h2c' });
  try {
    const r = await h2get(t.url, '/healthz');
    expect(r).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    const nf = await h2get(t.url, '/vod/none/v1/master.m3u8');
    expect(nf.status).toBe(404);
  } finally {
    await t.stop();
  }
});

it('tls: HTTP/2 by ALPN, and HTTP/1.1 clients still served', async () => {
  const t = await startTestServer({ CASCADE_HTTP2: 'tls', CASCADE_TLS_CERT: join(dir, 'cert.pem'), CASCADE_TLS_KEY: join(dir, 'key.pem') });
  try {
    expect(t.url).toMatch(/^https:/);
    const r = await h2get(t.url, '/time');
    expect(r.status).toBe(200);
    expect(r.alpn).toBe('h2');
    const h1 = await new Promise<number>((resolve, reject) => {
      httpsRequest(new URL('/healthz', t.url), { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(h1).toBe(200);
  } finally {
    await t.stop();
  }
});
