/**
 * Golden manifests: fixtures/<case>/timeline.json → manifests/<case>/*. A missing
 * half fails; UPDATE_GOLDEN=1 rewrites the manifests for review. Every output is
 * also read back by m3u8-parser / mpd-parser (warnings fail) and every MPD is
 * validated against the ISO/IEC 23009-1 schema with xmllint.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderVodMediaPlaylist, renderVodMpd, renderVodMultivariant, type TitleTimeline } from '../../src/packager/index.js';
import { parseM3u8Strict, parseMpdStrict, MPD_SCHEMA } from '../helpers/manifests.js';

const root = new URL('../../', import.meta.url).pathname;
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(join(root, 'fixtures')).filter((c) => existsSync(join(root, 'fixtures', c, 'timeline.json')));
const manifestCases = existsSync(join(root, 'manifests')) ? readdirSync(join(root, 'manifests')) : [];

function outputs(t: TitleTimeline): Record<string, string> {
  const out: Record<string, string> = { 'master.m3u8': renderVodMultivariant(t), 'manifest.mpd': renderVodMpd(t) };
  for (const r of t.renditions) out[`${r.id}.m3u8`] = renderVodMediaPlaylist(t, r.id)!;
  return out;
}

describe('golden manifests', () => {
  it('every manifests/<case> has its fixtures/<case> input', () => {
    for (const c of manifestCases) expect(cases, `manifests/${c} has no fixtures/${c}/timeline.json`).toContain(c);
  });

  for (const c of cases) {
    describe(c, () => {
      const t = JSON.parse(readFileSync(join(root, 'fixtures', c, 'timeline.json'), 'utf8')) as TitleTimeline;
      const dir = join(root, 'manifests', c);
      const rendered = outputs(t);
      if (update) {
        mkdirSync(dir, { recursive: true });
        for (const [name, text] of Object.entries(rendered)) writeFileSync(join(dir, name), text);
      }
      it('matches the golden files, with no golden file left over', () => {
        expect(existsSync(dir), `manifests/${c} is missing (UPDATE_GOLDEN=1 creates it)`).toBe(true);
        expect(readdirSync(dir).sort()).toEqual(Object.keys(rendered).sort());
        for (const [name, text] of Object.entries(rendered)) expect(text, `${c}/${name}`).toBe(readFileSync(join(dir, name), 'utf8'));
      });
      it('reads back with m3u8-parser without warnings', () => {
        for (const [name, text] of Object.entries(rendered)) {
          if (!name.endsWith('.m3u8')) continue;
          const m = parseM3u8Strict(text);
          if (name === 'master.m3u8') expect(m.playlists.length).toBeGreaterThan(0);
          else {
            expect(m.endList).toBe(true);
            const r = t.renditions.find((x) => `${x.id}.m3u8` === name)!;
            expect(m.segments.length).toBe(r.segments.length);
            const sum = m.segments.reduce((n: number, s: { duration: number }) => n + s.duration, 0);
            const exact = r.segments.reduce((n, s) => n + s.duration, 0) / r.timescale;
            expect(Math.abs(sum - exact)).toBeLessThan(0.001);
            for (const s of m.segments) expect(Math.round(s.duration)).toBeLessThanOrEqual(m.targetDuration);
          }
        }
      });
      it('MPD reads back with mpd-parser and validates against the ISO schema', () => {
        const mpd = rendered['manifest.mpd'];
        const parsed = parseMpdStrict(mpd, 'http://origin.test/vod/x/v1/manifest.mpd');
        const videos = t.renditions.filter((r) => r.kind === 'video');
        expect(parsed.playlists.length).toBe(videos.length || 0);
        const file = join(root, '.tmp', `${c}.mpd`);
        mkdirSync(join(root, '.tmp'), { recursive: true });
        writeFileSync(file, mpd);
        execFileSync('xmllint', ['--noout', '--schema', MPD_SCHEMA, file], { stdio: 'pipe' });
      });
    });
  }
});
