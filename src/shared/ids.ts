import { randomBytes } from 'node:crypto';
import { createError } from './errors.js';

/** Title, channel and edge ids: safe as a path segment and an object key part. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateId(id: string, what = 'id'): string {
  if (!ID_RE.test(id) || id.includes('..')) throw createError('INVALID_ID', `invalid ${what} ${JSON.stringify(id.slice(0, 64))}: ids are 1-128 characters of A-Z a-z 0-9 . _ - and start with a letter or digit`);
  return id;
}

export const isValidId = (id: string): boolean => ID_RE.test(id) && !id.includes('..');

/** Sortable, unique ids: time prefix (base36 ms) + randomness. */
export function newId(prefix: string, nowMs: number): string {
  return `${prefix}${nowMs.toString(36)}${randomBytes(5).toString('hex')}`;
}
