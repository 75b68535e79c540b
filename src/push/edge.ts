/**
 * The edge contract: how one object gets onto an edge, how we know it is there, how it goes away.
 *   http-cache  warmed by a GET (or HEAD) through the edge (the edge fetches from the origin and keeps it),
 *               verified by a HEAD that the edge answers from its cache (HIT / Age),
 *               purged by PURGE per URL (or one BAN of the title's prefix, or GET {purgePrefix}{path})
 *   s3          filled by copying the origin's answer (PutObject; multipart when large), skipped when
 *               the same bytes are already there (size + the origin's ETag kept as metadata),
 *               verified by HEAD, purged by deleting the title's keys
 * Implementations: http-edge.ts, s3-edge.ts; edge-worker.ts runs the http-cache ones off the main thread.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpCacheEdgeConfig, EdgeConfig } from '../config.js';
import type { PushObject } from './planner.js';
import type { ErrorCode } from '../shared/errors.js';

/** A failed step, with whether trying again may help. */
export class EdgeError extends Error {
  constructor(
    readonly code: Extract<ErrorCode, 'EDGE_UNREACHABLE' | 'EDGE_TIMEOUT' | 'EDGE_HTTP_ERROR' | 'EDGE_NOT_CACHED' | 'EDGE_SIZE_MISMATCH' | 'ORIGIN_READ_FAILED'>,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'EdgeError';
  }
}

/** The origin as the push reads it (in process): status, headers, whole body. */
export type OriginFetch = (method: 'GET' | 'HEAD', path: string) => Promise<{ status: number; headers: Record<string, string | string[] | number | undefined>; body: Buffer }>;

export interface TransferContext {
  pushId: string;
  signal: AbortSignal;
  timeoutMs: number;
  /** Query string a playback URL needs (a token when signed playback is on), without '?'. */
  query?: string;
}

export interface TransferResult {
  /** Bytes moved to the edge (0 when it already had the object). */
  bytes: number;
  /** The edge had the object before this push. */
  already: boolean;
}

export interface Edge {
  readonly config: EdgeConfig;
  /** Puts the object on the edge (or finds it there already: `already`, which needs no verify). Throws EdgeError. */
  transfer(o: PushObject, ctx: TransferContext): Promise<TransferResult>;
  /** Checks that a transferred object is on the edge. Throws EdgeError (retryable: transfer again). */
  verify(o: PushObject, ctx: TransferContext): Promise<void>;
  /** Removes a title's objects (`paths`; `prefix` covers them all) from the edge; returns how many. */
  purge(paths: string[], prefix: string, ctx: Omit<TransferContext, 'pushId' | 'query'>): Promise<number>;
  close(): void;
}

export const retryableStatus = (s: number): boolean => s >= 500 || s === 408 || s === 429;

/** Back-off before attempt n+1: base × 2^(n-1), ± 20 % so that edges' retries do not line up. */
export const backoffMs = (baseMs: number, attempt: number): number => baseMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);

/** Whether a response came from the edge's cache. */
export function isCacheHit(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, edge: Pick<HttpCacheEdgeConfig, 'hitHeader' | 'hitPattern'>): boolean {
  const get = (h: string): string | undefined => {
    const v = headers[h.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  if (edge.hitHeader) return new RegExp(edge.hitPattern ?? 'HIT', 'i').test(get(edge.hitHeader) ?? '');
  for (const h of ['x-cache', 'x-cache-status', 'cf-cache-status', 'cdn-cache-status', 'x-proxy-cache']) {
    const v = get(h);
    if (v !== undefined) return /\bHIT\b/i.test(v);
  }
  return Number(get('age') ?? 0) > 0;
}

