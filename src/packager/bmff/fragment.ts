/** Parses a movie fragment (moof), ISO/IEC 14496-12 §8.8.4–8.8.12, into what the packager needs. */
import { BoxError, Cursor, readBoxes } from './box-reader.js';
import type { TrackDefaults } from './init-segment.js';

export interface FragmentInfo {
  sequenceNumber: number;
  /** baseMediaDecodeTime of the first sample (tfdt). */
  decodeTime: number;
  /** Sum of sample durations, in the track timescale. */
  duration: number;
  sampleCount: number;
  /** Earliest presentation time: min(dts + composition offset). */
  earliestPresentationTime: number;
  /** First sample is a sync sample (CMAF chunk can start a segment). */
  independent: boolean;
  /** Most frequent sample duration (for frame rate). */
  typicalSampleDuration: number;
  mediaBytes: number;
}

const TFHD_BASE_DATA_OFFSET = 0x1;
const TFHD_SAMPLE_DESCRIPTION = 0x2;
const TFHD_DEFAULT_DURATION = 0x8;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;
const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_FLAGS = 0x4;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_CTS = 0x800;

/** sample_is_non_sync_sample, ISO/IEC 14496-12 §8.8.3.1. */
const isSync = (flags: number): boolean => ((flags >>> 16) & 1) === 0;

/** `moof` is the buffer holding exactly one moof box (starting at offset 0). */
export function parseFragment(moof: Uint8Array, defaults: TrackDefaults): FragmentInfo {
  const [box] = readBoxes(moof, 0, moof.length);
  if (!box || box.type !== 'moof') throw new BoxError('expected a moof box');
  const children = readBoxes(moof, box.payloadStart, box.end);
  const mfhd = children.find((b) => b.type === 'mfhd');
  let sequenceNumber = 0;
  if (mfhd) {
    const c = new Cursor(moof, mfhd.payloadStart, mfhd.end);
    c.fullBox();
    sequenceNumber = c.u32();
  }
  const trafs = children.filter((b) => b.type === 'traf');
  if (trafs.length !== 1) throw new BoxError(`CMAF fragment must hold exactly one traf, found ${trafs.length}`);
  const traf = trafs[0];
  const parts = readBoxes(moof, traf.payloadStart, traf.end);
  const tfhd = parts.find((b) => b.type === 'tfhd');
  if (!tfhd) throw new BoxError('traf without tfhd');
  const hc = new Cursor(moof, tfhd.payloadStart, tfhd.end);
  const { flags: tf } = hc.fullBox();
  hc.u32(); // track_ID
  if (tf & TFHD_BASE_DATA_OFFSET) hc.u64();
  if (tf & TFHD_SAMPLE_DESCRIPTION) hc.u32();
  const defDuration = tf & TFHD_DEFAULT_DURATION ? hc.u32() : defaults.sampleDuration;
  const defSize = tf & TFHD_DEFAULT_SIZE ? hc.u32() : defaults.sampleSize;
  const defFlags = tf & TFHD_DEFAULT_FLAGS ? hc.u32() : defaults.sampleFlags;

  const tfdt = parts.find((b) => b.type === 'tfdt');
  if (!tfdt) throw new BoxError('traf without tfdt (required by CMAF, ISO/IEC 23000-19 §7.3.2.3)');
  const dc = new Cursor(moof, tfdt.payloadStart, tfdt.end);
  const decodeTime = dc.fullBox().version === 1 ? dc.u64() : dc.u32();

  let dts = decodeTime;
  let ept = Number.POSITIVE_INFINITY;
  let sampleCount = 0;
  let mediaBytes = 0;
  let independent = false;
  const durationCounts = new Map<number, number>();
  for (const trun of parts.filter((b) => b.type === 'trun')) {
    const c = new Cursor(moof, trun.payloadStart, trun.end);
    const { version, flags } = c.fullBox();
    const count = c.u32();
    if (flags & TRUN_DATA_OFFSET) c.i32();
    const firstFlags = flags & TRUN_FIRST_FLAGS ? c.u32() : undefined;
    const perSample = [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS].filter((f) => flags & f).length * 4;
    if (perSample > 0 && count * perSample > c.remaining()) throw new BoxError(`trun declares ${count} samples but holds ${c.remaining()} bytes`);
    if (perSample === 0) {
      // Every sample uses the defaults: compute without iterating (count may be huge in hostile input).
      if (sampleCount === 0) independent = isSync(firstFlags ?? defFlags);
      if (count > 0) ept = Math.min(ept, dts);
      durationCounts.set(defDuration, (durationCounts.get(defDuration) ?? 0) + count);
      dts += defDuration * count;
      mediaBytes += defSize * count;
      sampleCount += count;
      continue;
    }
    for (let i = 0; i < count; i++) {
      const duration = flags & TRUN_DURATION ? c.u32() : defDuration;
      const size = flags & TRUN_SIZE ? c.u32() : defSize;
      let sampleFlags = flags & TRUN_FLAGS ? c.u32() : defFlags;
      if (i === 0 && firstFlags !== undefined) sampleFlags = firstFlags;
      const cts = flags & TRUN_CTS ? (version === 0 ? c.u32() : c.i32()) : 0;
      if (sampleCount === 0) independent = isSync(sampleFlags);
      ept = Math.min(ept, dts + cts);
      durationCounts.set(duration, (durationCounts.get(duration) ?? 0) + 1);
      dts += duration;
      mediaBytes += size;
      sampleCount++;
    }
  }
  if (sampleCount === 0) throw new BoxError('fragment has no samples');
  let typicalSampleDuration = 0;
  let best = -1;
  for (const [d, n] of durationCounts) if (n > best) { best = n; typicalSampleDuration = d; }
  return { sequenceNumber, decodeTime, duration: dts - decodeTime, sampleCount, earliestPresentationTime: ept, independent, typicalSampleDuration, mediaBytes };
}
