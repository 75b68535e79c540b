/**
 * RFC 6381 codec strings from decoder configuration records.
 * AVC: ISO/IEC 14496-15 §5.3.3 (avcC); HEVC: ISO/IEC 14496-15 Annex E (hvcC);
 * AAC: ISO/IEC 14496-3 §1.6.2.1 AudioSpecificConfig inside an esds (ISO/IEC 14496-1 §7.2.6).
 */
import { BoxError, Cursor } from './box-reader.js';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

export function avcCodecString(entryType: string, avcC: Uint8Array): string {
  if (avcC.length < 4) throw new BoxError('avcC too short');
  // configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
  return `${entryType}.${hex2(avcC[1])}${hex2(avcC[2])}${hex2(avcC[3])}`.toLowerCase();
}

export function hevcCodecString(entryType: string, hvcC: Uint8Array): string {
  if (hvcC.length < 13) throw new BoxError('hvcC too short');
  const c = new Cursor(hvcC, 1, hvcC.length);
  const b = c.u8();
  const profileSpace = b >> 6;
  const tier = (b >> 5) & 1;
  const profileIdc = b & 0x1f;
  const compat = c.u32();
  const constraint = Array.from(c.bytes(6));
  const level = c.u8();
  let reversed = 0;
  for (let i = 0; i < 32; i++) reversed |= ((compat >>> i) & 1) << (31 - i);
  while (constraint.length > 0 && constraint[constraint.length - 1] === 0) constraint.pop();
  const space = ['', 'A', 'B', 'C'][profileSpace];
  const parts = [entryType, `${space}${profileIdc}`, (reversed >>> 0).toString(16), `${tier ? 'H' : 'L'}${level}`];
  for (const byte of constraint) parts.push(byte.toString(16));
  return parts.join('.');
}

export interface AacConfig { objectTypeIndication: number; audioObjectType: number; sampleRate?: number; channelConfig?: number }

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Parses an esds payload (after version/flags) down to the AudioSpecificConfig. */
export function parseEsds(payload: Uint8Array): AacConfig {
  const c = new Cursor(payload, 0, payload.length);
  const readDescriptor = (): { tag: number; size: number } => {
    const tag = c.u8();
    let size = 0;
    for (let i = 0; i < 4; i++) {
      const b = c.u8();
      size = (size << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    return { tag, size };
  };
  const es = readDescriptor();
  if (es.tag !== 0x03) throw new BoxError('esds: missing ES_Descriptor');
  c.skip(2); // ES_ID
  const flags = c.u8();
  if (flags & 0x80) c.skip(2); // streamDependenceFlag
  if (flags & 0x40) c.skip(c.u8()); // URL_Flag
  if (flags & 0x20) c.skip(2); // OCRstreamFlag
  const dc = readDescriptor();
  if (dc.tag !== 0x04) throw new BoxError('esds: missing DecoderConfigDescriptor');
  const objectTypeIndication = c.u8();
  c.skip(12); // streamType.. bufferSizeDB, maxBitrate, avgBitrate
  if (c.remaining() < 2) return { objectTypeIndication, audioObjectType: 0 };
  const dsi = readDescriptor();
  if (dsi.tag !== 0x05) return { objectTypeIndication, audioObjectType: 0 };
  const asc = c.bytes(Math.min(dsi.size, c.remaining()));
  return { objectTypeIndication, ...parseAudioSpecificConfig(asc) };
}

function parseAudioSpecificConfig(asc: Uint8Array): { audioObjectType: number; sampleRate?: number; channelConfig?: number } {
  let bitPos = 0;
  const bits = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = asc[bitPos >> 3];
      if (byte === undefined) throw new BoxError('AudioSpecificConfig truncated');
      v = (v << 1) | ((byte >> (7 - (bitPos & 7))) & 1);
      bitPos++;
    }
    return v;
  };
  let aot = bits(5);
  if (aot === 31) aot = 32 + bits(6);
  const freqIndex = bits(4);
  const sampleRate = freqIndex === 15 ? bits(24) : AAC_RATES[freqIndex];
  const channelConfig = bits(4);
  return { audioObjectType: aot, sampleRate, channelConfig };
}

export function aacCodecString(cfg: AacConfig): string {
  const oti = hex2(cfg.objectTypeIndication).replace(/^0/, '');
  return cfg.audioObjectType ? `mp4a.${oti}.${cfg.audioObjectType}` : `mp4a.${oti}`;
}
