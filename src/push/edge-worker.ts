/**
 * Warming http-cache edges moves every object's bytes through an HTTP client; on the origin's own
 * event loop that competes with serving players (and with the edges' own fetches of the same
 * objects). The http-cache edges therefore run in one worker thread: the main thread sends each
 * operation (transfer, verify, purge) and gets the result or the EdgeError back.
 *
 *   main: WorkerHttpEdge.transfer(o) ──postMessage──▶ worker: HttpCacheEdge.transfer(o)
 *                                    ◀──────────────── {id, ok, result | error}
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { HttpCacheEdgeConfig } from '../config.js';
import { EdgeError, type Edge, type TransferContext, type TransferResult } from './edge.js';
import { HttpCacheEdge } from './http-edge.js';
import type { PushObject } from './planner.js';

type Op =
  | { op: 'transfer' | 'verify'; edge: string; object: PushObject; ctx: Omit<TransferContext, 'signal'> }
  | { op: 'purge'; edge: string; paths: string[]; prefix: string; ctx: { timeoutMs: number } };
type Request = { type: 'init'; edges: HttpCacheEdgeConfig[] } | { type: 'abort'; id: number } | ({ type: 'call'; id: number } & Op);
type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code?: string; message: string; retryable: boolean } };

/** The compiled worker beside this module (absent when the sources run untranspiled, e.g. under vitest). */
const WORKER_FILE = new URL('./edge-worker.js', import.meta.url);
export const workerAvailable = (): boolean => import.meta.url.endsWith('.js') && existsSync(fileURLToPath(WORKER_FILE));

/** One worker for all http-cache edges; started on first use, restarted if it dies. */
export class EdgeWorker {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  constructor(private readonly edges: HttpCacheEdgeConfig[]) {}

  /** Starts the thread (ahead of the first push, so its start-up is not on a push's clock). */
  start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_FILE, { workerData: { cascadeEdgeWorker: true } });
    w.unref();
    w.postMessage({ type: 'init', edges: this.edges } satisfies Request);
    w.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(m.error.code ? new EdgeError(m.error.code as EdgeError['code'], m.error.message, m.error.retryable) : new Error(m.error.message));
    });
    const fail = (err: Error): void => {
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new EdgeError('EDGE_UNREACHABLE', `the push worker stopped: ${err.message}`, true));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit ${code}`)));
    this.worker = w;
    return w;
  }

  call<T>(op: Op, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const w = this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        w.postMessage({ type: 'abort', id } satisfies Request);
        this.pending.delete(id);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (v) => (signal?.removeEventListener('abort', onAbort), resolve(v as T)),
        reject: (e) => (signal?.removeEventListener('abort', onAbort), reject(e)),
      });
      w.postMessage({ type: 'call', id, ...op } satisfies Request);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}

/** An http-cache edge whose requests run in the worker. */
export class WorkerHttpEdge implements Edge {
  constructor(
    readonly config: HttpCacheEdgeConfig,
    private readonly worker: EdgeWorker,
  ) {}

  transfer(o: PushObject, ctx: TransferContext): Promise<TransferResult> {
    const { signal, ...rest } = ctx;
    return this.worker.call({ op: 'transfer', edge: this.config.name, object: o, ctx: rest }, signal);
  }

  verify(o: PushObject, ctx: TransferContext): Promise<void> {
    const { signal, ...rest } = ctx;
    return this.worker.call({ op: 'verify', edge: this.config.name, object: o, ctx: rest }, signal);
  }

  purge(paths: string[], prefix: string, ctx: Omit<TransferContext, 'pushId' | 'query'>): Promise<number> {
    return this.worker.call({ op: 'purge', edge: this.config.name, paths, prefix, ctx: { timeoutMs: ctx.timeoutMs } }, ctx.signal);
  }

  close(): void {
    // the worker is shared: closed by its owner
  }
}

// ---------------------------------------------------------------- the worker side
// Only in the thread started above (Cascade itself may run inside some other worker thread).
if (parentPort && (workerData as { cascadeEdgeWorker?: boolean } | null)?.cascadeEdgeWorker) {
  const port = parentPort;
  const edges = new Map<string, HttpCacheEdge>();
  const inflight = new Map<number, AbortController>();
  port.on('message', (m: Request) => {
    if (m.type === 'init') {
      for (const e of m.edges) edges.set(e.name, new HttpCacheEdge(e));
      return;
    }
    if (m.type === 'abort') {
      inflight.get(m.id)?.abort(new Error('aborted'));
      return;
    }
    const edge = edges.get(m.edge);
    const ctl = new AbortController();
    inflight.set(m.id, ctl);
    const run = async (): Promise<unknown> => {
      if (!edge) throw new Error(`no edge ${m.edge} in the push worker`);
      if (m.op === 'purge') return edge.purge(m.paths, m.prefix, { signal: ctl.signal, timeoutMs: m.ctx.timeoutMs });
      const ctx = { ...m.ctx, signal: ctl.signal };
      return m.op === 'transfer' ? edge.transfer(m.object, ctx) : edge.verify(m.object, ctx).then(() => undefined);
    };
    run().then(
      (result) => port.postMessage({ id: m.id, ok: true, result } satisfies Reply),
      (err: unknown) => {
        const e = err as Partial<EdgeError> & Error;
        port.postMessage({ id: m.id, ok: false, error: { code: e instanceof EdgeError ? e.code : undefined, message: e.message, retryable: e instanceof EdgeError ? e.retryable : true } } satisfies Reply);
      },
    ).finally(() => inflight.delete(m.id));
  });
}
