import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Marks temp files so listings and sweeps can skip them. */
export const TMP_MARK = '.cascade-tmp-';

/**
 * Writes through a temp file beside `path`, then renames it into place: readers
 * see the old file or the new one, never half of one; a failed write leaves nothing.
 */
export async function replaceAtomically(path: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}${TMP_MARK}${randomBytes(4).toString('hex')}`;
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return replaceAtomically(path, (tmp) => writeFile(tmp, data));
}
