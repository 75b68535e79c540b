/** FLV file framing (Adobe FLV spec v10.1 §E) for handing RTMP media to ffmpeg's stdin. */
export const FLV_AUDIO = 8;
export const FLV_VIDEO = 9;
export const FLV_SCRIPT = 18;

export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const b = Buffer.alloc(13);
  b.write('FLV', 0, 'latin1');
  b[3] = 1;
  b[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  b.writeUInt32BE(9, 5);
  b.writeUInt32BE(0, 9); // PreviousTagSize0
  return b;
}

/** One tag plus its PreviousTagSize trailer. Timestamps are ms, 32 bits (24 + extension byte). */
export function flvTag(type: number, timestampMs: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(11);
  h[0] = type;
  h.writeUIntBE(payload.length, 1, 3);
  const ts = timestampMs >>> 0;
  h.writeUIntBE(ts & 0xffffff, 4, 3);
  h[7] = (ts >>> 24) & 0xff;
  h.writeUIntBE(0, 8, 3);
  const t = Buffer.alloc(4);
  t.writeUInt32BE(11 + payload.length);
  return Buffer.concat([h, payload, t]);
}

/** FLV VideoTagHeader (§E.4.3.1): 7 = AVC; the top bit marks an enhanced-RTMP (FourCC) header. */
export function describeVideoTag(payload: Buffer): { codec: string; supported: boolean } {
  if (payload.length === 0) return { codec: 'none', supported: false };
  if (payload[0] & 0x80) {
    const fourcc = payload.length >= 5 ? payload.toString('latin1', 1, 5) : '?';
    return { codec: fourcc, supported: false };
  }
  const id = payload[0] & 0x0f;
  const names: Record<number, string> = { 2: 'h263', 3: 'screen', 4: 'vp6', 5: 'vp6a', 6: 'screen2', 7: 'avc', 12: 'hevc' };
  return { codec: names[id] ?? `flv-video-${id}`, supported: id === 7 };
}

/** FLV AudioTagHeader (§E.4.2.1): 10 = AAC. */
export function describeAudioTag(payload: Buffer): { codec: string; aac: boolean } {
  if (payload.length === 0) return { codec: 'none', aac: false };
  const id = payload[0] >> 4;
  const names: Record<number, string> = { 2: 'mp3', 10: 'aac', 11: 'speex', 14: 'mp3', 1: 'adpcm', 3: 'pcm', 0: 'pcm', 7: 'g711a', 8: 'g711u' };
  return { codec: names[id] ?? `flv-audio-${id}`, aac: id === 10 };
}
