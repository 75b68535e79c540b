/** AMF0 (Adobe Action Message Format 0) values as RTMP commands carry them. Bounds-checked. */
export type Amf0Value = number | boolean | string | null | undefined | Amf0Object | Amf0Value[];
export interface Amf0Object { [key: string]: Amf0Value }

export class Amf0Error extends Error {}

const MAX_DEPTH = 16;

export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const out: Amf0Value[] = [];
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > buf.length) throw new Amf0Error('truncated AMF0 value');
  };
  const str = (long: boolean): string => {
    need(long ? 4 : 2);
    const len = long ? buf.readUInt32BE(pos) : buf.readUInt16BE(pos);
    pos += long ? 4 : 2;
    need(len);
    const s = buf.toString('utf8', pos, pos + len);
    pos += len;
    return s;
  };
  const props = (depth: number): Amf0Object => {
    const o: Amf0Object = Object.create(null);
    for (;;) {
      const key = str(false);
      need(1);
      if (key === '' && buf[pos] === 0x09) {
        pos++;
        return o;
      }
      o[key] = value(depth + 1);
    }
  };
  const value = (depth: number): Amf0Value => {
    if (depth > MAX_DEPTH) throw new Amf0Error('AMF0 nesting too deep');
    need(1);
    const marker = buf[pos++];
    switch (marker) {
      case 0x00: {
        need(8);
        const v = buf.readDoubleBE(pos);
        pos += 8;
        return v;
      }
      case 0x01:
        need(1);
        return buf[pos++] !== 0;
      case 0x02:
        return str(false);
      case 0x03:
        return props(depth);
      case 0x05:
        return null;
      case 0x06:
        return undefined;
      case 0x08: // ECMA array: a count (advisory) then properties
        need(4);
        pos += 4;
        return props(depth);
      case 0x0a: {
        need(4);
        const n = buf.readUInt32BE(pos);
        pos += 4;
        if (n > buf.length - pos) throw new Amf0Error('AMF0 strict array longer than its message');
        const a: Amf0Value[] = [];
        for (let i = 0; i < n; i++) a.push(value(depth + 1));
        return a;
      }
      case 0x0b: {
        need(10);
        const v = buf.readDoubleBE(pos);
        pos += 10;
        return v;
      }
      case 0x0c:
        return str(true);
      default:
        throw new Amf0Error(`unsupported AMF0 marker 0x${marker.toString(16)}`);
    }
  };
  while (pos < buf.length) out.push(value(0));
  return out;
}

/** Byte length of the first value of an AMF0 string value at `buf[0]` (to strip `@setDataFrame`). */
export function amf0StringLength(buf: Buffer): number {
  if (buf.length < 3 || buf[0] !== 0x02) return 0;
  return 3 + buf.readUInt16BE(1);
}

export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const parts: Buffer[] = [];
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(2);
    h.writeUInt16BE(b.length);
    parts.push(h, b);
  };
  const value = (v: Amf0Value): void => {
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = 0x00;
      b.writeDoubleBE(v, 1);
      parts.push(b);
    } else if (typeof v === 'boolean') {
      parts.push(Buffer.from([0x01, v ? 1 : 0]));
    } else if (typeof v === 'string') {
      parts.push(Buffer.from([0x02]));
      str(v);
    } else if (v === null) {
      parts.push(Buffer.from([0x05]));
    } else if (v === undefined) {
      parts.push(Buffer.from([0x06]));
    } else if (Array.isArray(v)) {
      const h = Buffer.alloc(5);
      h[0] = 0x0a;
      h.writeUInt32BE(v.length, 1);
      parts.push(h);
      v.forEach(value);
    } else {
      parts.push(Buffer.from([0x03]));
      for (const [k, x] of Object.entries(v)) {
        str(k);
        value(x);
      }
      parts.push(Buffer.from([0x00, 0x00, 0x09]));
    }
  };
  values.forEach(value);
  return Buffer.concat(parts);
}
