/**
 * Incremental CMAF reader: bytes of one track as ffmpeg writes them to a pipe
 * (ftyp + moov, then moof + mdat pairs) in, complete top-level units out. Nothing
 * waits for a whole segment: each CMAF chunk (ISO/IEC 23000-19 §7.3.2.2, one moof
 * and its mdat) is emitted the moment its last byte arrives.
 */
import { BoxError, readBoxHeader } from '../bmff/box-reader.js';

export type CmafUnit =
  | { kind: 'header'; data: Buffer }
  /** One CMAF chunk: optional styp/prft/emsg boxes, a moof and its mdat. */
  | { kind: 'chunk'; data: Buffer; moofOffset: number; moofSize: number };

/** A box larger than this is refused: a live chunk is a fraction of a second of media. */
const MAX_BOX_BYTES = 64 * 1024 * 1024;

export class CmafStreamReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private buf = Buffer.alloc(0);
  private header: Buffer[] = [];
  private chunkBoxes: Buffer[] = [];
  private moof?: { offset: number; size: number };
  private sawHeader = false;

  /** Feeds bytes; returns the units they complete, in order. */
  push(data: Buffer): CmafUnit[] {
    this.pending.push(data);
    this.pendingBytes += data.length;
    const out: CmafUnit[] = [];
    for (;;) {
      if (this.buf.length < 16 && this.pendingBytes > 0) this.collect();
      if (this.buf.length < 8) break;
      const box = readBoxHeader(this.buf, 0, Number.MAX_SAFE_INTEGER);
      if (box.size > MAX_BOX_BYTES) throw new BoxError(`box '${box.type}' of ${box.size} bytes is larger than a live chunk can be`);
      if (this.buf.length + this.pendingBytes < box.size) break;
      if (this.buf.length < box.size) this.collect();
      const whole = this.buf.subarray(0, box.size);
      this.buf = this.buf.subarray(box.size);
      const unit = this.take(box.type, whole);
      if (unit) out.push(unit);
    }
    return out;
  }

  private collect(): void {
    this.buf = Buffer.concat([this.buf, ...this.pending]);
    this.pending = [];
    this.pendingBytes = 0;
  }

  private take(type: string, box: Buffer): CmafUnit | undefined {
    if (!this.sawHeader) {
      if (type === 'moof' || type === 'mdat') throw new BoxError(`'${type}' before the CMAF header (ftyp + moov)`);
      this.header.push(Buffer.from(box));
      if (type !== 'moov') return undefined;
      this.sawHeader = true;
      const data = Buffer.concat(this.header);
      this.header = [];
      return { kind: 'header', data };
    }
    if (type === 'moov' || type === 'ftyp') throw new BoxError(`a second '${type}' inside one CMAF track stream`);
    const offset = this.chunkBoxes.reduce((n, b) => n + b.length, 0);
    this.chunkBoxes.push(Buffer.from(box));
    if (type === 'moof') {
      if (this.moof) throw new BoxError('two moof boxes without an mdat between them');
      this.moof = { offset, size: box.length };
      return undefined;
    }
    if (type !== 'mdat') return undefined; // styp, prft, emsg, free: kept with the chunk they precede
    if (!this.moof) throw new BoxError('mdat without a moof');
    const data = Buffer.concat(this.chunkBoxes);
    const unit: CmafUnit = { kind: 'chunk', data, moofOffset: this.moof.offset, moofSize: this.moof.size };
    this.chunkBoxes = [];
    this.moof = undefined;
    return unit;
  }

  /** Bytes held that do not yet form a unit (for a clean-end check). */
  get buffered(): number {
    return this.buf.length + this.pendingBytes + this.chunkBoxes.reduce((n, b) => n + b.length, 0);
  }
}
