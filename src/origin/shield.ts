/** Origin-shield guard: a shared secret header required from the CDN (optional). */
import { createHash, timingSafeEqual } from 'node:crypto';

export const SHIELD_HEADER = 'x-cascade-shield';

/** Timing-safe check of the shield header's value; undefined when no secret is configured. */
export function shieldCheck(secret: string | undefined): ((given: unknown) => boolean) | undefined {
  if (!secret) return undefined;
  const want = createHash('sha256').update(secret).digest();
  return (given) => timingSafeEqual(createHash('sha256').update(String(given ?? '')).digest(), want);
}
