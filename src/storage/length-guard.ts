import { Transform } from 'node:stream';

/**
 * Passes exactly `size` bytes through and fails the stream otherwise, so a put
 * from a short or long body errors (and stores nothing) instead of hanging or
 * storing a truncated object.
 */
export function lengthGuard(size: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      cb(seen > size ? new Error(`body longer than the declared ${size} bytes`) : null, chunk);
    },
    flush(cb) {
      cb(seen !== size ? new Error(`body ended after ${seen} of ${size} bytes`) : null);
    },
  });
}
