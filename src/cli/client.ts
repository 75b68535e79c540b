/** A small client of the admin API, used by the CLI commands. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { Job } from '../ingest/index.js';
import type { TitleView } from '../origin/routes/api.js';
import type { ChannelView } from '../ingest/live/channel-service.js';
import type { PushView } from '../push/push-service.js';
import type { PushPlan } from '../push/push-store.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: string, path: string, init: { body?: BodyInit | Readable; headers?: Record<string, string> } = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...init.headers },
        body: init.body as BodyInit | undefined,
        ...(init.body instanceof Readable ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      throw new ApiError(0, 'UNREACHABLE', `cannot reach ${this.baseUrl}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText));
    }
    return json as T;
  }

  async upload(titleId: string, file: string, opts: { ladder?: string; onBytes?: (sent: number, total: number) => void }): Promise<Job> {
    const { size } = await stat(file);
    let sent = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        sent += chunk.length;
        opts.onBytes?.(sent, size);
        cb(null, chunk);
      },
    });
    const body = createReadStream(file).pipe(meter);
    const q = opts.ladder ? `?ladder=${encodeURIComponent(opts.ladder)}` : '';
    const r = await this.call<{ job: Job }>('PUT', `/api/v1/titles/${encodeURIComponent(titleId)}/source${q}`, {
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    });
    return r.job;
  }

  job(id: string): Promise<Job> {
    return this.call('GET', `/api/v1/jobs/${encodeURIComponent(id)}`);
  }
  title(id: string): Promise<TitleView> {
    return this.call('GET', `/api/v1/titles/${encodeURIComponent(id)}`);
  }

  putChannel(id: string, body: Record<string, unknown>): Promise<ChannelView> {
    return this.call('PUT', `/api/v1/channels/${encodeURIComponent(id)}`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  }
  channels(): Promise<{ channels: ChannelView[] }> {
    return this.call('GET', '/api/v1/channels');
  }
  removeChannel(id: string): Promise<void> {
    return this.call('DELETE', `/api/v1/channels/${encodeURIComponent(id)}`);
  }
  stopChannel(id: string): Promise<ChannelView> {
    return this.call('POST', `/api/v1/channels/${encodeURIComponent(id)}/stop`);
  }

  pushPlan(body: Record<string, unknown>): Promise<PushPlan> {
    return this.call('POST', '/api/v1/pushes/plan', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  }
  createPush(body: Record<string, unknown>): Promise<PushView> {
    return this.call('POST', '/api/v1/pushes', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  }
  push(id: string): Promise<PushView> {
    return this.call('GET', `/api/v1/pushes/${encodeURIComponent(id)}`);
  }
  pushes(): Promise<{ pushes: PushView[]; edges: Array<{ name: string; kind: string }> }> {
    return this.call('GET', '/api/v1/pushes');
  }
  cancelPush(id: string): Promise<PushView> {
    return this.call('DELETE', `/api/v1/pushes/${encodeURIComponent(id)}`);
  }
  setRelease(titleId: string, releaseAt: string | null): Promise<TitleView> {
    return this.call('PUT', `/api/v1/titles/${encodeURIComponent(titleId)}/release`, { body: JSON.stringify({ releaseAt }), headers: { 'content-type': 'application/json' } });
  }

  /** Polls a push until it ends. */
  async waitPush(id: string, onUpdate: (p: PushView) => void, intervalMs = 500): Promise<PushView> {
    for (;;) {
      const p = await this.push(id);
      onUpdate(p);
      if (p.status === 'succeeded' || p.status === 'failed' || p.status === 'canceled') return p;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Polls a job until it ends. */
  async waitJob(id: string, onUpdate: (j: Job) => void, intervalMs = 500): Promise<Job> {
    for (;;) {
      const j = await this.job(id);
      onUpdate(j);
      if (j.status === 'succeeded' || j.status === 'failed' || j.status === 'canceled') return j;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
