/** Object store on a local directory; puts go to a temp file and are renamed into place. */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, open, opendir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { replaceAtomically, TMP_MARK } from '../shared/fs-util.js';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { lengthGuard } from './length-guard.js';
import { pipeline } from 'node:stream/promises';
import { checkKey, ObjectNotFoundError, type ByteSpan, type ObjectBody, type ObjectInfo, type ObjectStore } from './types.js';


export class FileStore implements ObjectStore {
  readonly kind = 'file' as const;
  constructor(readonly root: string) {}
  get location(): string {
    return `file://${this.root}`;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async get(key: string, range?: ByteSpan): Promise<ObjectBody> {
    const path = this.path(key);
    // Open first so a missing file is a clean ObjectNotFoundError, not a stream error later.
    const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'ENOTDIR' ? new ObjectNotFoundError(key) : err;
    });
    const { size } = await fh.stat();
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? size - 1, size - 1);
    const body = createReadStream('', { fd: fh, start, end: Math.max(end, start - 1), highWaterMark: 256 * 1024, autoClose: true });
    return { body, size, contentLength: Math.max(0, end - start + 1) };
  }

  async getBuffer(key: string): Promise<Buffer> {
    return readFile(this.path(key)).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new ObjectNotFoundError(key) : err;
    });
  }

  async put(key: string, body: Readable | Buffer, size: number): Promise<void> {
    await replaceAtomically(this.path(key), async (tmp) => {
      const ws = createWriteStream(tmp);
      try {
        await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, lengthGuard(size), ws);
      } catch (err) {
        // The file may still be opening when the pipeline fails: let it close before it is removed.
        if (!ws.closed) await once(ws, 'close').catch(() => undefined);
        throw err;
      }
    });
  }

  async putFile(key: string, src: string): Promise<void> {
    await replaceAtomically(this.path(key), (tmp) => copyFile(src, tmp));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkKey(prefix, true);
    // Walk from the deepest directory the prefix names, filter the rest by string prefix.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirPart ? join(this.root, ...dirPart.split('/')) : this.root;
    const walk = async function* (dir: string, root: string): AsyncIterable<ObjectInfo> {
      let handle;
      try {
        handle = await opendir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      const entries: string[] = [];
      for await (const d of handle) if (!d.name.includes(TMP_MARK)) entries.push(d.name);
      entries.sort();
      for (const name of entries) {
        const full = join(dir, name);
        const s = await stat(full).catch(() => undefined);
        if (!s) continue;
        const key = relative(root, full).split(sep).join('/');
        if (s.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(full, root);
        } else if (key.startsWith(prefix)) {
          yield { key, size: s.size, lastModified: s.mtime };
        }
      }
    };
    yield* walk(start, this.root);
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for await (const o of this.list(prefix)) {
      await this.delete(o.key);
      n++;
    }
    // Remove the directory too when the prefix names one.
    if (prefix.endsWith('/')) await rm(join(this.root, ...checkKey(prefix.slice(0, -1)).split('/')), { recursive: true, force: true });
    return n;
  }

  async close(): Promise<void> {}
}
