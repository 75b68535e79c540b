/** The RTMP codec probe on its own: which first tags start the encoder and which are refused. */
import { describe, expect, it } from 'vitest';
import { FlvProbe } from '../../src/ingest/live/flv-probe.js';

const avc = Buffer.from([0x17, 0, 0, 0, 0]); // keyframe, codec 7 (AVC), sequence header
const aac = Buffer.from([0xaf, 0]); // AAC, sequence header
const mp3 = Buffer.from([0x2f, 0]);
const hevcLegacy = Buffer.from([0x1c, 0, 0, 0, 0]); // codec id 12
const enhanced = Buffer.from([0x90, 0x68, 0x76, 0x63, 0x31]); // ExHeader + 'hvc1'

describe('FlvProbe', () => {
  it('starts once it has H.264 video and audio, keeping every tag for ffmpeg', () => {
    const p = new FlvProbe();
    expect(p.push(18, 0, Buffer.from('meta')).kind).toBe('wait');
    expect(p.push(9, 0, avc).kind).toBe('wait');
    const d = p.push(8, 0, aac);
    expect(d).toEqual({ kind: 'start', input: { kind: 'flv', hasAudio: true, audioIsAac: true }, videoCodec: 'h264', audioCodec: 'aac' });
    expect(p.tags).toHaveLength(3);
    // Non-AAC audio is encoded to AAC, not copied.
    const q = new FlvProbe();
    q.push(8, 0, mp3);
    expect(q.push(9, 0, avc)).toMatchObject({ kind: 'start', input: { audioIsAac: false }, audioCodec: 'mp3' });
  });
  it.each([
    ['HEVC (legacy id 12)', hevcLegacy, /hevc video/],
    ['enhanced RTMP hvc1', enhanced, /hvc1 video/],
  ])('refuses %s at its first tag', (_n, tag, re) => {
    const d = new FlvProbe().push(9, 0, tag);
    expect(d.kind).toBe('refuse');
    expect(d.kind === 'refuse' && d.reason).toMatch(re);
  });
  it('refuses a stream without video after 3 s of media, and without audio 1.5 s after the video', () => {
    const a = new FlvProbe();
    for (let ts = 0; ts <= 3000; ts += 20) expect(a.push(8, ts, aac).kind).toBe('wait');
    expect(a.push(8, 3021, aac)).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/no video/) });
    const v = new FlvProbe();
    for (let ts = 0; ts <= 1500; ts += 33) expect(v.push(9, ts, avc).kind).toBe('wait');
    expect(v.push(9, 1534, avc)).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/no audio/) });
  });
});
