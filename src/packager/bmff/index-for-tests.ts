/** Internals of the box layer that tests exercise directly. */
export { BoxError, readBoxes, readBoxHeader, Cursor } from './box-reader.js';
export { parseInitSegment } from './init-segment.js';
export { parseFragment } from './fragment.js';
export { bufferAccess } from './scan-track.js';
