/**
 * Walks the top-level boxes of a CMAF track file (header, then chunks of
 * [styp|prft|emsg]* moof mdat) reading only box headers and moof payloads, so a
 * multi-gigabyte track costs a few kilobytes per chunk. I/O is injected.
 */
import { BoxError, readBoxHeader } from './box-reader.js';
import { parseFragment, type FragmentInfo } from './fragment.js';
import { parseInitSegment, type InitInfo } from './init-segment.js';

export interface RandomAccess {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface ScannedChunk extends FragmentInfo {
  offset: number;
  size: number;
}

export interface ScannedTrack {
  init: InitInfo;
  initRange: { offset: number; size: number };
  chunks: ScannedChunk[];
}

/** Upper bound for boxes we load into memory (moov, moof). */
const MAX_METADATA_BOX = 16 * 1024 * 1024;

export async function scanTrack(file: RandomAccess): Promise<ScannedTrack> {
  let offset = 0;
  let init: InitInfo | undefined;
  let initEnd = 0;
  let headerBytes: Uint8Array[] = [];
  const chunks: ScannedChunk[] = [];
  let chunkStart = -1;
  let pending: { fragment: FragmentInfo } | undefined;
  while (offset < file.size) {
    const head = await file.read(offset, Math.min(32, file.size - offset));
    // The limit is the rest of the file, so a size-0 box (to end of file) resolves correctly.
    const box = readBoxHeader(head, 0, file.size - offset);
    const size = box.size;
    if (offset + size > file.size) throw new BoxError(`box '${box.type}' at ${offset} runs past the end of the file (truncated track)`);
    switch (box.type) {
      case 'ftyp':
      case 'moov': {
        if (init) throw new BoxError(`unexpected '${box.type}' after the CMAF header`);
        if (size > MAX_METADATA_BOX) throw new BoxError(`'${box.type}' box too large (${size} bytes)`);
        headerBytes.push(await file.read(offset, size));
        if (box.type === 'moov') {
          const all = concat(headerBytes);
          init = parseInitSegment(all);
          initEnd = offset + size;
          headerBytes = [];
        }
        break;
      }
      case 'styp':
      case 'prft':
      case 'emsg':
      case 'sidx':
        if (chunkStart < 0) chunkStart = offset;
        break;
      case 'moof': {
        if (!init) throw new BoxError('moof before the CMAF header');
        if (pending) throw new BoxError(`moof at ${offset} follows a moof without mdat`);
        if (size > MAX_METADATA_BOX) throw new BoxError(`moof too large (${size} bytes)`);
        if (chunkStart < 0) chunkStart = offset;
        pending = { fragment: parseFragment(await file.read(offset, size), init.defaults) };
        break;
      }
      case 'mdat': {
        if (!pending) throw new BoxError(`mdat at ${offset} without a preceding moof`);
        chunks.push({ ...pending.fragment, offset: chunkStart, size: offset + size - chunkStart });
        pending = undefined;
        chunkStart = -1;
        break;
      }
      default:
        // free, skip, mfra, udta...: not part of any chunk.
        break;
    }
    offset += size;
  }
  if (!init) throw new BoxError('track file has no CMAF header (ftyp+moov)');
  if (pending) throw new BoxError('last moof has no mdat (truncated track)');
  if (chunks.length === 0) throw new BoxError('track file has no media chunks');
  return { init, initRange: { offset: 0, size: initEnd }, chunks };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** RandomAccess over a buffer, for tests and small in-memory objects. */
export function bufferAccess(buf: Uint8Array): RandomAccess {
  return { size: buf.length, read: async (offset, length) => buf.subarray(offset, offset + length) };
}
