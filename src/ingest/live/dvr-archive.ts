/**
 * Keeps a stopped channel's DVR window as a VOD title: the last encoder session's segments of
 * every rendition are joined behind their init segment into one CMAF track file each, moved back
 * to start at time 0 (tfdt), scanned and published through the catalog like an encoded upload
 * (title id = channel id, a new version). Earlier sessions in the window had other encoder
 * settings (their own init segments) and are not part of the title.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Catalog } from '../../catalog/catalog.js';
import { buildTimeline, scanTrack, segmentData, shiftSegmentDecodeTimes, type LiveSegment, type TitleTimeline } from '../../packager/index.js';
import { withFileAccess } from '../file-access.js';
import type { Channel } from './channel-service.js';

export interface ArchiveSource {
  init(c: Channel, renditionId: string, session: number): Promise<Buffer | undefined>;
  segment(c: Channel, renditionId: string, seg: LiveSegment): Promise<Buffer>;
}

export async function archiveWindow(c: Channel, catalog: Catalog, source: ArchiveSource, now: Date): Promise<TitleTimeline | undefined> {
  const tl = c.timeline;
  const media = (s: LiveSegment): boolean => s.complete && !s.gap;
  const session = tl.leaderRendition.segments.filter(media).at(-1)?.session;
  if (session === undefined) return undefined;
  const picked = tl.renditions.map((r) => ({ r, segs: r.segments.filter((s) => media(s) && s.session === session) })).filter((x) => x.segs.length > 0);
  // Start the title at 0: every track moves by the same time (the earliest first segment).
  const startSec = Math.min(...picked.map((x) => x.segs[0].time / x.segs[0].timescale));
  const dir = await mkdtemp(join(tmpdir(), `cascade-dvr-${c.id}-`));
  try {
    const tracks = [];
    const files = [];
    for (const { r, segs } of picked) {
      const init = await source.init(c, r.id, session);
      if (!init) continue;
      const path = join(dir, `${r.id}.mp4`);
      const out = createWriteStream(path);
      out.write(init);
      for (const s of segs) {
        const bytes = Buffer.from(s.chunks.length ? segmentData(s) : await source.segment(c, r.id, s));
        shiftSegmentDecodeTimes(bytes, -Math.floor(startSec * s.timescale));
        if (!out.write(bytes)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'close');
      tracks.push({ id: r.id, object: `${r.id}.mp4`, scan: await withFileAccess(path, scanTrack) });
      files.push({ rendition: r.id, path, kind: r.kind });
    }
    if (tracks.length === 0) return undefined;
    const version = `v${now.getTime().toString(36)}dvr`;
    const timeline = buildTimeline({ titleId: c.id, version, publishedAt: now.toISOString(), segmentTargetSec: c.def.segmentSec, tracks });
    await catalog.publish(timeline, files);
    return timeline;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
