import type { StorageConfig } from '../config.js';
import { FileStore } from './file-store.js';
import { S3Store } from './s3-store.js';
import type { ObjectStore } from './types.js';

export * from './types.js';
export { FileStore } from './file-store.js';
export { S3Store, s3ClientConfig } from './s3-store.js';

export function openStore(config: StorageConfig): ObjectStore {
  return config.kind === 'file' ? new FileStore(config.dir) : new S3Store(config);
}
