/**
 * Signed playback URLs. A token is bound to a path prefix (a title: /vod/{id}/, a channel: /live/{id}/)
 * and an expiry, so one token covers every manifest and segment of the title:
 *
 *   token = {expiresUnixSec}.{keyId}.{base64url(HMAC-SHA256(secret, prefix \n expires \n keyId))}
 *
 * sent as `?token=`. Manifests answered to a signed request list their URIs with
 * the same token. Several keys may be valid at once (rotation): new tokens are
 * signed with the first key, tokens of every listed key verify.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../shared/errors.js';

export interface SigningKey { id: string; secret: string }

export type TokenCheck = { ok: true; token: string } | { ok: false; code: Extract<ErrorCode, 'TOKEN_REQUIRED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED'>; message: string };

export const titlePrefix = (titleId: string): string => `/vod/${titleId}/`;
export const channelPrefix = (channelId: string): string => `/live/${channelId}/`;

const mac = (key: SigningKey, prefix: string, exp: number): string => createHmac('sha256', key.secret).update(`${prefix}\n${exp}\n${key.id}`).digest('base64url');

export function signToken(keys: readonly SigningKey[], prefix: string, expiresUnixSec: number): string {
  const key = keys[0];
  if (!key) throw new Error('no signing key configured');
  return `${expiresUnixSec}.${key.id}.${mac(key, prefix, expiresUnixSec)}`;
}

/** Checks `token` for a request to `path` (whose title prefix must match the token's). */
export function checkToken(keys: readonly SigningKey[], path: string, token: string | undefined, nowUnixSec: number): TokenCheck {
  if (!token) return { ok: false, code: 'TOKEN_REQUIRED', message: 'this playback URL needs a token (?token=)' };
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/.exec(token);
  const prefix = /^\/(?:vod|live)\/[^/]+\//.exec(path)?.[0];
  if (!m || !prefix) return { ok: false, code: 'TOKEN_INVALID', message: 'malformed playback token' };
  const exp = Number(m[1]);
  const key = keys.find((k) => k.id === m[2]);
  const expected = key ? Buffer.from(mac(key, prefix, exp)) : undefined;
  const given = Buffer.from(m[3]);
  if (!expected || expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, code: 'TOKEN_INVALID', message: 'playback token is not valid for this title' };
  }
  // Checked after the signature, so the expiry of a forged token is never reported.
  if (exp <= nowUnixSec) return { ok: false, code: 'TOKEN_EXPIRED', message: `playback token expired at ${new Date(exp * 1000).toISOString()}` };
  return { ok: true, token };
}
