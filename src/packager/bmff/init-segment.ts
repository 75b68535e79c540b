/** Parses a CMAF header (ftyp + moov with one track), ISO/IEC 23000-19 §7.3.2.1. */
import { BoxError, Cursor, findBox, readBoxes, requireBox, type Box } from './box-reader.js';
import { aacCodecString, avcCodecString, hevcCodecString, parseEsds } from './codec-string.js';

export interface TrackDefaults { sampleDuration: number; sampleSize: number; sampleFlags: number }

export interface InitInfo {
  brands: string[];
  trackId: number;
  kind: 'video' | 'audio';
  timescale: number;
  language?: string;
  codecs: string;
  sampleEntry: string;
  width?: number;
  height?: number;
  /** Pixel aspect ratio from pasp (h, v). */
  sar?: [number, number];
  sampleRate?: number;
  channels?: number;
  defaults: TrackDefaults;
}

function child(buf: Uint8Array, parent: Box, type: string): Box {
  return requireBox(buf, parent, type);
}

export function parseInitSegment(buf: Uint8Array): InitInfo {
  const top = readBoxes(buf);
  const ftyp = top.find((b) => b.type === 'ftyp');
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new BoxError('init segment has no moov');
  const brands: string[] = [];
  if (ftyp) {
    const c = new Cursor(buf, ftyp.payloadStart, ftyp.end);
    brands.push(c.fourcc());
    c.skip(4);
    while (c.remaining() >= 4) brands.push(c.fourcc());
  }
  const traks = readBoxes(buf, moov.payloadStart, moov.end).filter((b) => b.type === 'trak');
  if (traks.length !== 1) throw new BoxError(`CMAF header must hold exactly one track, found ${traks.length}`);
  const trak = traks[0];
  const tkhd = child(buf, trak, 'tkhd');
  const tc = new Cursor(buf, tkhd.payloadStart, tkhd.end);
  const tkhdVersion = tc.fullBox().version;
  tc.skip(tkhdVersion === 1 ? 16 : 8);
  const trackId = tc.u32();

  const mdia = child(buf, trak, 'mdia');
  const mdhd = child(buf, mdia, 'mdhd');
  const mc = new Cursor(buf, mdhd.payloadStart, mdhd.end);
  const mdhdVersion = mc.fullBox().version;
  mc.skip(mdhdVersion === 1 ? 16 : 8);
  const timescale = mc.u32();
  if (timescale === 0) throw new BoxError('mdhd timescale is 0');
  mc.skip(mdhdVersion === 1 ? 8 : 4);
  const lang = mc.u16();
  const language = lang === 0 || lang === 0x55c4 ? undefined : String.fromCharCode(((lang >> 10) & 31) + 0x60, ((lang >> 5) & 31) + 0x60, (lang & 31) + 0x60);

  const hdlr = child(buf, mdia, 'hdlr');
  const hc = new Cursor(buf, hdlr.payloadStart, hdlr.end);
  hc.skip(8);
  const handler = hc.fourcc();
  if (handler !== 'vide' && handler !== 'soun') throw new BoxError(`unsupported track handler '${handler}'`);

  const stbl = child(buf, child(buf, child(buf, mdia, 'minf'), 'stbl'), 'stsd');
  const sc = new Cursor(buf, stbl.payloadStart, stbl.end);
  sc.fullBox();
  if (sc.u32() < 1) throw new BoxError('stsd has no sample entry');
  const entry = readBoxes(buf, sc.pos, stbl.end)[0];
  if (!entry) throw new BoxError('stsd has no sample entry');

  const defaults = parseTrex(buf, moov, trackId);
  const base = { brands, trackId, timescale, language, sampleEntry: entry.type, defaults };
  if (handler === 'vide') {
    const ec = new Cursor(buf, entry.payloadStart, entry.end);
    ec.skip(8 + 16);
    const width = ec.u16();
    const height = ec.u16();
    const childrenStart = entry.payloadStart + 78;
    const boxes = readBoxes(buf, childrenStart, entry.end);
    const config = (t: string): Uint8Array | undefined => {
      const b = boxes.find((x) => x.type === t);
      return b ? buf.subarray(b.payloadStart, b.end) : undefined;
    };
    let codecs: string;
    const avcC = config('avcC');
    const hvcC = config('hvcC');
    if (avcC) codecs = avcCodecString(entry.type, avcC);
    else if (hvcC) codecs = hevcCodecString(entry.type, hvcC);
    else codecs = entry.type;
    const paspBox = boxes.find((x) => x.type === 'pasp');
    let sar: [number, number] | undefined;
    if (paspBox) {
      const pc = new Cursor(buf, paspBox.payloadStart, paspBox.end);
      const h = pc.u32();
      const v = pc.u32();
      if (h > 0 && v > 0) sar = [h, v];
    }
    return { ...base, kind: 'video', codecs, width, height, sar };
  }
  const ac = new Cursor(buf, entry.payloadStart, entry.end);
  ac.skip(8 + 8);
  let channels = ac.u16();
  ac.skip(6);
  let sampleRate = ac.u32() >>> 16;
  const boxes = readBoxes(buf, entry.payloadStart + 28, entry.end);
  let codecs = entry.type;
  const esds = boxes.find((b) => b.type === 'esds');
  if (entry.type === 'mp4a' && esds) {
    const cfg = parseEsds(buf.subarray(esds.payloadStart + 4, esds.end));
    codecs = aacCodecString(cfg);
    if (cfg.channelConfig) channels = cfg.channelConfig === 7 ? 8 : cfg.channelConfig;
    if (cfg.sampleRate) sampleRate = cfg.sampleRate;
  } else if (entry.type === 'Opus') {
    codecs = 'opus';
  }
  return { ...base, kind: 'audio', codecs, sampleRate, channels };
}

function parseTrex(buf: Uint8Array, moov: Box, trackId: number): TrackDefaults {
  const mvex = findBox(buf, moov, 'mvex');
  if (mvex) {
    for (const trex of readBoxes(buf, mvex.payloadStart, mvex.end).filter((b) => b.type === 'trex')) {
      const c = new Cursor(buf, trex.payloadStart, trex.end);
      c.fullBox();
      if (c.u32() !== trackId) continue;
      c.skip(4);
      return { sampleDuration: c.u32(), sampleSize: c.u32(), sampleFlags: c.u32() };
    }
  }
  return { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 };
}
