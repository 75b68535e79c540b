import type { Readable } from 'node:stream';

/** Inclusive byte range, like HTTP Range. */
export interface ByteSpan { start: number; end: number }

export interface ObjectInfo { key: string; size: number; lastModified: Date; etag?: string }

export interface ObjectBody {
  body: Readable;
  /** Size of the whole object. */
  size: number;
  /** Bytes in `body` (the range length when a range was asked). */
  contentLength: number;
}

/**
 * The storage contract. Keys are '/'-separated relative paths without '..'.
 * Puts are atomic: a reader sees the old object or the new one, never a mix.
 */
export interface ObjectStore {
  readonly kind: 'file' | 's3';
  /** Human-readable location for logs. */
  readonly location: string;
  get(key: string, range?: ByteSpan): Promise<ObjectBody>;
  getBuffer(key: string): Promise<Buffer>;
  /** Stores `size` bytes from `body`; fails (and stores nothing) when the stream ends early or runs long. */
  put(key: string, body: Readable | Buffer, size: number, contentType?: string): Promise<void>;
  putFile(key: string, path: string, contentType?: string): Promise<void>;
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<number>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** The store failed (unreachable, 5xx after its retries): not the caller's fault, not a missing object. */
export class StorageError extends Error {
  constructor(what: string, cause: unknown) {
    super(`storage ${what} failed: ${(cause as Error)?.message || (cause as Error)?.name || String(cause)}`, { cause });
    this.name = 'StorageError';
  }
}

export class InvalidKeyError extends Error {
  constructor(readonly key: string) {
    super(`invalid object key: ${JSON.stringify(key)}`);
    this.name = 'InvalidKeyError';
  }
}

/** Rejects keys that could escape the store or alias another key. */
export function checkKey(key: string, allowEmpty = false): string {
  if ((!key && !allowEmpty) || key.startsWith('/') || key.includes('\\') || key.includes('\0') || key.split('/').some((p, i, a) => p === '..' || p === '.' || (p === '' && i < a.length - 1))) {
    throw new InvalidKeyError(key);
  }
  return key;
}
