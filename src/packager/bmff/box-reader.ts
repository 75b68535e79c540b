/**
 * Minimal ISO-BMFF (ISO/IEC 14496-12) box reader over in-memory buffers.
 * Pure and defensive: every read is bounds-checked and malformed input yields a
 * BoxError instead of an out-of-range read or an endless loop.
 */
export class BoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BoxError';
  }
}

export interface Box {
  type: string;
  /** Offset of the box header within the parsed buffer. */
  start: number;
  /** Total size including the header. */
  size: number;
  /** Offset of the payload (after size/type/largesize/uuid). */
  payloadStart: number;
  end: number;
}

/** Reads one box header at `offset`; `limit` is the end of the enclosing range. */
export function readBoxHeader(buf: Uint8Array, offset: number, limit = buf.length): Box {
  if (offset + 8 > limit) throw new BoxError(`truncated box header at ${offset}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let size = view.getUint32(offset);
  const type = String.fromCharCode(buf[offset + 4], buf[offset + 5], buf[offset + 6], buf[offset + 7]);
  let header = 8;
  if (size === 1) {
    if (offset + 16 > limit) throw new BoxError(`truncated largesize header of '${type}' at ${offset}`);
    const big = view.getBigUint64(offset + 8);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new BoxError(`box '${type}' too large`);
    size = Number(big);
    header = 16;
  } else if (size === 0) {
    size = limit - offset; // ISO/IEC 14496-12 §4.2: size 0 = box extends to the end of the file
  }
  if (type === 'uuid') header += 16;
  if (size < header) throw new BoxError(`box '${type}' at ${offset} has invalid size ${size}`);
  return { type, start: offset, size, payloadStart: offset + header, end: offset + size };
}

/** Children of a container payload; each must fit inside [start, end). */
export function readBoxes(buf: Uint8Array, start = 0, end = buf.length): Box[] {
  const boxes: Box[] = [];
  let offset = start;
  while (offset < end) {
    const box = readBoxHeader(buf, offset, end);
    if (box.end > end) throw new BoxError(`box '${box.type}' at ${offset} overruns its parent (${box.end} > ${end})`);
    boxes.push(box);
    offset = box.end;
  }
  return boxes;
}

export function findBox(buf: Uint8Array, parent: { payloadStart: number; end: number }, type: string, skip = 0): Box | undefined {
  return readBoxes(buf, parent.payloadStart + skip, parent.end).find((b) => b.type === type);
}

export function requireBox(buf: Uint8Array, parent: { payloadStart: number; end: number }, type: string, skip = 0): Box {
  const box = findBox(buf, parent, type, skip);
  if (!box) throw new BoxError(`missing '${type}' box`);
  return box;
}

/** Bounds-checked big-endian cursor over a box payload. */
export class Cursor {
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.end) throw new BoxError(`read of ${n} bytes past box end at ${this.pos}`);
  }
  u8(): number { this.need(1); return this.view.getUint8(this.pos++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.pos); this.pos += 2; return v; }
  u24(): number { this.need(3); const v = (this.view.getUint16(this.pos) << 8) | this.view.getUint8(this.pos + 2); this.pos += 3; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos); this.pos += 4; return v; }
  i32(): number { this.need(4); const v = this.view.getInt32(this.pos); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BoxError('64-bit value out of safe range');
    return Number(v);
  }
  bytes(n: number): Uint8Array { this.need(n); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  skip(n: number): void { this.need(n); this.pos += n; }
  fourcc(): string { const b = this.bytes(4); return String.fromCharCode(b[0], b[1], b[2], b[3]); }
  remaining(): number { return this.end - this.pos; }
  /** FullBox version and flags (ISO/IEC 14496-12 §4.2). */
  fullBox(): { version: number; flags: number } { return { version: this.u8(), flags: this.u24() }; }
}
