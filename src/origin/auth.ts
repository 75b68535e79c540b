import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { createError } from '../shared/errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Admin API auth: `Authorization: Bearer <token>` only (never a query parameter: URLs end up in logs). */
export function makeBearerCheck(token: string): (req: FastifyRequest) => Promise<void> {
  const expected = digest(token);
  return async (req) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1]), expected)) throw createError('UNAUTHORIZED', 'missing or invalid API token (send Authorization: Bearer <token>)');
  };
}
