/**
 * One edge's share of a push: the transfer/verify pipeline with its byte-rate cap, retries with
 * back-off, the journal of finished objects and the "give the edge up" rule.
 */
import PQueue from 'p-queue';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import { backoffMs, EdgeError, type Edge } from './edge.js';
import type { PushObject } from './planner.js';
import type { EdgeProgress, PushPlan, PushStore } from './push-store.js';
import { RateLimiter } from './rate-limit.js';

export interface EdgeRunEnv {
  store: Pick<PushStore, 'done' | 'journal'>;
  maxAttempts: number;
  timeoutMs: number;
  /** Back-off before attempt n+1 is retryBaseMs × 2^(n-1) (± 20 %). */
  retryBaseMs: number;
  /** Consecutive objects failing (after their retries) before the edge is given up. */
  edgeFailureLimit?: number;
  /** True while the server shuts down: stop where we are (the push resumes at the next start). */
  closing: () => boolean;
  counters: { object(edge: string, result: 'done' | 'present' | 'failed'): void; bytes(edge: string, n: number): void };
  playbackQuery: (titleId: string) => string | undefined;
  log: Logger;
}

const FAILURES_KEPT = 20;

/**
 * One edge's share of a push, as a two-stage pipeline: `concurrency` transfers at once (each behind
 * the byte-rate cap), and as many verifications beside them, so a verification never holds a
 * transfer slot. An object is done once verified; it is then written to the journal.
 */
export async function runEdge(env: EdgeRunEnv, pushId: string, plan: PushPlan, edge: Edge, p: EdgeProgress, signal: AbortSignal, changed: () => void): Promise<void> {
  const name = edge.config.name;
  const done = await env.store.done(pushId, name);
  // What earlier runs finished counts as done now (not redone).
  Object.assign(p, { objectsDone: 0, bytesDone: 0, objectsFailed: 0, failed: false, failures: [] });
  delete p.error;
  for (const o of plan.objects) {
    if (done.has(o.path)) {
      p.objectsDone++;
      p.bytesDone += o.bytes;
    }
  }
  const journal = env.store.journal(pushId, name);
  const limiter = new RateLimiter(edge.config.maxBytesPerSec);
  const transfers = new PQueue({ concurrency: edge.config.concurrency });
  const verifications = new PQueue({ concurrency: edge.config.concurrency });
  const limit = env.edgeFailureLimit ?? Math.max(8, edge.config.concurrency * 2);
  const stopped = (): boolean => signal.aborted || env.closing() || p.failed;
  let consecutive = 0;
  let outstanding = 0;
  let settle!: () => void;
  const allSettled = new Promise<void>((resolve) => (settle = resolve));
  const ctx = (o: PushObject) => ({ pushId, signal, timeoutMs: env.timeoutMs, query: env.playbackQuery(o.titleId) });

  const finished = (): void => {
    if (--outstanding === 0) settle();
  };
  const succeed = (o: PushObject, moved: number, already: boolean): void => {
    journal.add(o.path);
    consecutive = 0;
    p.objectsDone++;
    p.bytesDone += o.bytes;
    if (already) p.objectsPresent++;
    env.counters.object(name, already ? 'present' : 'done');
    env.counters.bytes(name, moved);
    changed();
    finished();
  };
  const fail = (o: PushObject, attempt: number, err: unknown): void => {
    if (stopped()) return finished();
    const e = err instanceof EdgeError ? err : new EdgeError('EDGE_UNREACHABLE', (err as Error).message, true);
    if (e.retryable && attempt < env.maxAttempts) {
      const backoff = backoffMs(env.retryBaseMs, attempt);
      void sleep(backoff, signal).then(() => start(o, attempt + 1), () => finished());
      return;
    }
    p.objectsFailed++;
    env.counters.object(name, 'failed');
    if (p.failures.length < FAILURES_KEPT) p.failures.push({ path: o.path, code: e.code, message: e.message });
    env.log.warn({ push: pushId, edge: name, path: o.path, code: e.code, err: e.message }, 'object not pushed');
    if (++consecutive >= limit && !p.failed) {
      p.failed = true;
      p.error = { code: e.code, message: `${consecutive} objects in a row failed; the edge is given up for this push. Last: ${e.message}` };
      env.log.error({ push: pushId, edge: name, error: p.error }, 'edge failed');
    }
    changed();
    finished();
  };
  const start = (o: PushObject, attempt: number): void => {
    if (stopped()) return finished();
    void transfers.add(async () => {
      if (stopped()) return finished();
      try {
        await limiter.take(o.bytes, signal);
        const res = await edge.transfer(o, ctx(o));
        if (res.already) return succeed(o, 0, true);
        void verifications.add(async () => {
          if (stopped()) return finished();
          try {
            await edge.verify(o, ctx(o));
            succeed(o, res.bytes, false);
          } catch (err) {
            fail(o, attempt, err);
          }
        });
      } catch (err) {
        fail(o, attempt, err);
      }
    });
  };

  const todo = plan.objects.filter((o) => !done.has(o.path));
  outstanding = todo.length;
  if (outstanding === 0) settle();
  for (const o of todo) start(o, 1);
  await allSettled;
  await journal.flush();
  if (journal.error) env.log.warn({ push: pushId, edge: name, err: journal.error }, 'the push journal could not be written: a restart would redo these objects');
  if (p.objectsFailed > 0 && !p.failed) {
    p.failed = true;
    p.error ??= { code: p.failures[0]?.code ?? 'EDGE_HTTP_ERROR', message: `${p.objectsFailed} objects could not be pushed` };
  }
}
