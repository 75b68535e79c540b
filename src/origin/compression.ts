/**
 * Content coding for manifests (RFC 9110 §12.5.3 Accept-Encoding): brotli, then
 * gzip, else identity. Media is never compressed (already compressed, and ranges
 * must address the stored bytes).
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Coding = 'br' | 'gzip' | 'identity';

export function negotiateCoding(header: string | undefined): Coding {
  if (!header) return 'identity';
  const q = new Map<string, number>();
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qp ? Number(qp.slice(2)) : 1;
    q.set(name.trim(), Number.isFinite(value) ? value : 0);
  }
  const weight = (c: string): number => q.get(c) ?? q.get('*') ?? 0;
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return 'identity';
}

/** Compresses once per rendered text (the results are cached with it). */
export function encode(text: string, coding: Coding): Buffer | string {
  if (coding === 'br') return brotliCompressSync(text, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: text.length } });
  if (coding === 'gzip') return gzipSync(text, { level: 6 });
  return text;
}
