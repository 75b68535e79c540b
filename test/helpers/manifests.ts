/** Read manifests back with the parsers players' ecosystems use, failing on their warnings. */
import { existsSync } from 'node:fs';
import { Parser } from 'm3u8-parser';
import { parse as parseMpd } from 'mpd-parser';

export const MPD_SCHEMA = [new URL('../../../shared/conformance/dash/DASH-MPD.xsd', import.meta.url).pathname, new URL('../../shared/conformance/dash/DASH-MPD.xsd', import.meta.url).pathname].find((p) => existsSync(p)) ?? '../shared/conformance/dash/DASH-MPD.xsd';

export function parseM3u8Strict(text: string): any {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (w: { message: string }) => warnings.push(w.message));
  parser.push(text);
  parser.end();
  if (warnings.length) throw new Error(`m3u8-parser warnings: ${warnings.join('; ')}`);
  return parser.manifest;
}

export function parseMpdStrict(text: string, url: string): any {
  return parseMpd(text, { manifestUri: url });
}
