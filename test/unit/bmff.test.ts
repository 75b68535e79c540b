import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BoxError, bufferAccess, parseFragment, parseInitSegment, readBoxes, readBoxHeader } from '../../src/packager/bmff/index-for-tests.js';
import { scanTrack } from '../../src/packager/index.js';

const fixture = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../fixtures/cmaf/${n}`, import.meta.url)));

function box(type: string, payload: Uint8Array | number[]): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(8 + p.length);
  new DataView(out.buffer).setUint32(0, out.length);
  out.set([...type].map((c) => c.charCodeAt(0)), 4);
  out.set(p, 8);
  return out;
}

describe('box reader', () => {
  it('reads headers, largesize and size-0 boxes', () => {
    const a = box('free', [1, 2, 3]);
    expect(readBoxHeader(a, 0)).toMatchObject({ type: 'free', size: 11, payloadStart: 8 });
    const large = new Uint8Array(20);
    const dv = new DataView(large.buffer);
    dv.setUint32(0, 1);
    large.set([0x6d, 0x64, 0x61, 0x74], 4);
    dv.setBigUint64(8, 20n);
    expect(readBoxHeader(large, 0)).toMatchObject({ type: 'mdat', size: 20, payloadStart: 16 });
    const zero = new Uint8Array(12);
    zero.set([0x6d, 0x64, 0x61, 0x74], 4);
    expect(readBoxHeader(zero, 0)).toMatchObject({ size: 12 });
  });

  it('rejects truncated and overrunning boxes with BoxError', () => {
    expect(() => readBoxHeader(new Uint8Array(5), 0)).toThrow(BoxError);
    const bad = box('moov', [0, 0, 0, 99, 0x74, 0x72, 0x61, 0x6b]);
    expect(() => readBoxes(bad, 8, bad.length)).toThrow(/overruns/);
    const tiny = box('free', []);
    new DataView(tiny.buffer).setUint32(0, 4);
    expect(() => readBoxHeader(tiny, 0)).toThrow(/invalid size/);
  });

  it('parses a CMAF video header: codec string, size, timescale, brands', () => {
    const buf = fixture('v72.mp4');
    const moovEnd = readBoxes(buf).find((b) => b.type === 'moov')!.end;
    const init = parseInitSegment(buf.subarray(0, moovEnd));
    expect(init.kind).toBe('video');
    expect(init.codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(init.width).toBe(128);
    expect(init.height).toBe(72);
    expect(init.brands).toContain('cmfc');
    expect(init.timescale).toBeGreaterThan(0);
  });

  it('parses a CMAF audio header: AAC-LC, 48 kHz stereo', () => {
    const buf = fixture('a.mp4');
    const moovEnd = readBoxes(buf).find((b) => b.type === 'moov')!.end;
    const init = parseInitSegment(buf.subarray(0, moovEnd));
    expect(init).toMatchObject({ kind: 'audio', codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2, timescale: 48000 });
  });

  it('parses fragments: decode time, duration, independence', async () => {
    const scan = await scanTrack(bufferAccess(fixture('v72.mp4')));
    expect(scan.chunks.length).toBe(3);
    expect(scan.chunks.every((c) => c.independent)).toBe(true);
    const ts = scan.init.timescale;
    expect(scan.chunks.map((c) => c.decodeTime / ts)).toEqual([0, 2, 4]);
    expect(scan.chunks.reduce((n, c) => n + c.duration, 0) / ts).toBeCloseTo(6, 3);
    expect(scan.chunks[0].offset).toBe(scan.initRange.size);
    for (const [i, c] of scan.chunks.entries()) {
      const next = scan.chunks[i + 1];
      if (next) expect(c.offset + c.size).toBe(next.offset);
    }
  });

  it('refuses a truncated track file', async () => {
    const buf = fixture('v72.mp4');
    await expect(scanTrack(bufferAccess(buf.subarray(0, buf.length - 100)))).rejects.toThrow(/truncated|past the end/);
    await expect(scanTrack(bufferAccess(buf.subarray(0, 100)))).rejects.toThrow(BoxError);
  });

  it('does not loop on a trun that declares billions of default samples', () => {
    // moof > traf > tfhd(default duration 1), tfdt, trun(count 0xffffffff, no per-sample fields)
    const tfhd = box('tfhd', [0, 0, 0, 0x08, 0, 0, 0, 1, 0, 0, 0, 1]);
    const tfdt = box('tfdt', [0, 0, 0, 0, 0, 0, 0, 0]);
    const trun = box('trun', [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const traf = box('traf', new Uint8Array([...tfhd, ...tfdt, ...trun]));
    const moof = box('moof', traf);
    const f = parseFragment(moof, { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 });
    expect(f.sampleCount).toBe(0xffffffff);
  });

  it('fuzz: mutated fragments and headers only ever throw BoxError', async () => {
    const buf = fixture('v72.mp4');
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const m = new Uint8Array(buf.subarray(0, 4000));
      const flips = 1 + rand(8);
      for (let k = 0; k < flips; k++) m[rand(m.length)] = rand(256);
      try {
        await scanTrack(bufferAccess(m));
      } catch (err) {
        expect(err, String(err)).toBeInstanceOf(BoxError);
      }
    }
  });
});
