/**
 * Channel persistence in the object store:
 *
 *   channels/{id}/channel.json                 definition (ladder, window, secrets)
 *   channels/{id}/state.json                   numbering and the DVR window index
 *   channels/{id}/media/{rendition}/init-{session}.mp4
 *   channels/{id}/media/{rendition}/{msn}.m4s  completed segments
 *
 * Numbering survives a restart. The state is written when a segment opens (its number is
 * taken) and when a segment's bytes are stored in every rendition (the window index grows), and
 * a session number is written before its encoder starts. A restart
 * continues after the last opened segment: one that was still open when the process
 * died is listed as EXT-X-GAP (RFC 8216bis §4.4.4.7), never made again with other bytes;
 * init segments of a new run get a new session number.
 */
import type { ObjectStore } from '../../storage/index.js';
import type { InitInfo, LiveSegment } from '../../packager/index.js';

export interface ChannelDefinition {
  id: string;
  lowLatency: boolean;
  dvrWindowSec: number;
  ladder: string;
  segmentSec: number;
  partSec: number;
  allowTakeover: boolean;
  streamKey: string;
  srtPassphrase: string;
  srtPort: number;
  createdAt: string;
  /** Channel clock origin (ms since 1970): DASH availabilityStartTime. */
  epochMs: number;
  /** Stopped: presentation ended (EXT-X-ENDLIST), publishing refused until the channel is PUT again. */
  stopped: boolean;
}

/** What the window index keeps of a segment (its bytes are in the store). */
export type PersistedSegment = Pick<LiveSegment, 'msn' | 'session' | 'discontinuity' | 'time' | 'duration' | 'timescale' | 'bytes' | 'independent' | 'gap'>;

export interface ChannelState {
  schema: 1;
  /** Next media sequence number; every number below it was used (complete, or open when written). */
  nextMsn: number;
  /** Last encoder session number used (init segment names). */
  session: number;
  discontinuitySequence: number;
  ended: boolean;
  sessions: Array<{ no: number; startSec: number; firstMsn: number }>;
  renditions: Array<{ id: string; kind: 'video' | 'audio'; info?: InitInfo; segments: PersistedSegment[] }>;
}

export const channelKeys = {
  prefix: (id: string): string => `channels/${id}/`,
  definition: (id: string): string => `channels/${id}/channel.json`,
  state: (id: string): string => `channels/${id}/state.json`,
  init: (id: string, rendition: string, session: number): string => `channels/${id}/media/${rendition}/init-${session}.mp4`,
  segment: (id: string, rendition: string, msn: number): string => `channels/${id}/media/${rendition}/${msn}.m4s`,
};

export class ChannelStore {
  /** One write chain per channel: state writes land in order. */
  private chains = new Map<string, Promise<unknown>>();
  constructor(private readonly store: ObjectStore) {}

  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(id) ?? Promise.resolve()).then(fn, fn);
    this.chains.set(id, next.catch(() => undefined));
    return next;
  }

  async listIds(): Promise<string[]> {
    const ids = new Set<string>();
    for await (const o of this.store.list('channels/')) {
      const m = /^channels\/([^/]+)\/channel\.json$/.exec(o.key);
      if (m) ids.add(m[1]);
    }
    return [...ids];
  }

  async readDefinition(id: string): Promise<ChannelDefinition | undefined> {
    return this.readJson<ChannelDefinition>(channelKeys.definition(id));
  }

  async readState(id: string): Promise<ChannelState | undefined> {
    return this.readJson<ChannelState>(channelKeys.state(id));
  }

  writeDefinition(d: ChannelDefinition): Promise<void> {
    return this.serial(d.id, () => this.writeJson(channelKeys.definition(d.id), d));
  }

  writeState(id: string, s: ChannelState): Promise<void> {
    const text = JSON.stringify(s);
    return this.serial(id, () => this.store.put(channelKeys.state(id), Buffer.from(text), Buffer.byteLength(text), 'application/json'));
  }

  putMedia(key: string, data: Buffer): Promise<void> {
    return this.store.put(key, data, data.length, 'video/mp4');
  }

  async remove(id: string): Promise<void> {
    await this.serial(id, () => this.store.deletePrefix(channelKeys.prefix(id)));
    this.chains.delete(id);
  }

  private async readJson<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse((await this.store.getBuffer(key)).toString('utf8')) as T;
    } catch (err) {
      if ((err as Error).name === 'ObjectNotFoundError') return undefined;
      throw err;
    }
  }

  private writeJson(key: string, v: unknown): Promise<void> {
    const text = JSON.stringify(v, null, 2);
    return this.store.put(key, Buffer.from(text), Buffer.byteLength(text), 'application/json');
  }
}
