/** RandomAccess over a local file, for the packager's track scanner. */
import { open, type FileHandle } from 'node:fs/promises';
import type { RandomAccess } from '../packager/index.js';

export async function withFileAccess<T>(path: string, fn: (file: RandomAccess) => Promise<T>): Promise<T> {
  const fh: FileHandle = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return await fn({
      size,
      read: async (offset, length) => {
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      },
    });
  } finally {
    await fh.close();
  }
}
