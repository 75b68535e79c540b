/** Starts a real Cascade server (in-process) on a free port with a temp data dir. */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createServer, type Server } from '../../src/server.js';
import { createLogger } from '../../src/shared/logger.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestServer { server: Server; url: string; dataDir: string; stop(): Promise<void> }

export async function startTestServer(env: Record<string, string> = {}, overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cascade-test-'));
  // A free RTMP port, and an SRT port range of its own (ports are taken only when a channel exists).
  const srtBase = 20000 + Math.floor(Math.random() * 400) * 100;
  const config = loadConfig({ dataDir, port: 0, apiToken: TEST_TOKEN, ...overrides } as never, {
    ...process.env,
    CASCADE_LADDER: 'draft',
    CASCADE_RTMP_PORT: '0',
    CASCADE_SRT_PORTS: `${srtBase}-${srtBase + 99}`,
    ...env,
  });
  const server = await createServer(config, { logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent') });
  const url = await server.app.listen({ port: server.config.port, host: '127.0.0.1' });
  return {
    server,
    url,
    dataDir,
    stop: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function api(base: string, method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(new URL(path, base), { method, body, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers }, duplex: 'half' } as RequestInit);
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export async function waitJob(base: string, id: string, timeoutMs = 120_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await api(base, 'GET', `/api/v1/jobs/${id}`);
    if (['succeeded', 'failed', 'canceled'].includes(json.status)) return json;
    if (Date.now() > end) throw new Error(`job ${id} did not finish: ${JSON.stringify(json)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Files left in a directory tree (for "nothing left behind" checks). */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** PUTs a master file as the title's source (streamed, with Content-Length). */
export async function uploadSource(base: string, title: string, file: string, query = '', contentType = 'application/octet-stream'): Promise<{ status: number; json: any; headers: Headers }> {
  const { size } = await stat(file);
  return api(base, 'PUT', `/api/v1/titles/${title}/source${query}`, createReadStream(file) as never, { 'content-length': String(size), 'content-type': contentType });
}

/** Uploads, waits for the job to succeed (throws otherwise) and returns the title view. */
export async function publishTitle(base: string, title: string, file: string, query = ''): Promise<any> {
  const up = await uploadSource(base, title, file, query);
  if (up.status !== 202) throw new Error(`upload of ${title} refused: ${JSON.stringify(up.json)}`);
  const job = await waitJob(base, up.json.job.id);
  if (job.status !== 'succeeded') throw new Error(`job of ${title} ${job.status}: ${JSON.stringify(job.error)}`);
  return (await api(base, 'GET', `/api/v1/titles/${title}`)).json;
}
