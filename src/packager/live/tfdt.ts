/**
 * Rewrites the tfdt baseMediaDecodeTime of a chunk in place (ISO/IEC 14496-12 §8.8.12).
 * The live packager puts every encoder session on one channel clock, so a new
 * session continues the timeline instead of starting again at 0. Only the value
 * changes, never a box size, so trun data offsets stay valid.
 */
import { BoxError, readBoxes } from '../bmff/box-reader.js';

export function shiftDecodeTime(chunk: Buffer, moofOffset: number, moofSize: number, delta: number): void {
  if (delta === 0) return;
  const [moof] = readBoxes(chunk, moofOffset, moofOffset + moofSize);
  for (const traf of readBoxes(chunk, moof.payloadStart, moof.end).filter((b) => b.type === 'traf')) {
    const tfdt = readBoxes(chunk, traf.payloadStart, traf.end).find((b) => b.type === 'tfdt');
    if (!tfdt) throw new BoxError('traf without tfdt');
    const version = chunk[tfdt.payloadStart];
    const at = tfdt.payloadStart + 4;
    if (version === 1) {
      if (at + 8 > tfdt.end) throw new BoxError('short tfdt');
      const v = chunk.readBigUInt64BE(at) + BigInt(delta);
      if (v < 0n) throw new BoxError('decode time shifted below 0');
      chunk.writeBigUInt64BE(v, at);
    } else {
      if (at + 4 > tfdt.end) throw new BoxError('short tfdt');
      const v = chunk.readUInt32BE(at) + delta;
      if (v < 0 || v > 0xffffffff) throw new BoxError('decode time does not fit a version 0 tfdt');
      chunk.writeUInt32BE(v, at);
    }
  }
}

/** Shifts every moof of a run of CMAF chunks (a whole segment) by `delta` ticks. */
export function shiftSegmentDecodeTimes(segment: Buffer, delta: number): void {
  for (const box of readBoxes(segment)) if (box.type === 'moof') shiftDecodeTime(segment, box.start, box.size, delta);
}
