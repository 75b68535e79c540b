/** The deployment files for users stay valid: the compose file parses, and it mounts the tested VCL. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

it('docker-compose.yml is valid (docker-compose config) and its edges run deploy/varnish/edge.vcl', () => {
  const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, env: { ...process.env, CASCADE_API_TOKEN: '' } }).toString();
  for (const svc of ['minio:', 'minio-init:', 'origin-a:', 'origin-b:', 'edge-a:', 'edge-b:']) expect(out).toContain(svc);
  expect(out).toMatch(/deploy\/varnish\/edge\.vcl/);
  // Live ingest on one origin only (a channel belongs to one origin), with its ports published.
  expect(out).toMatch(/CASCADE_LIVE: "on"/);
  expect(out).toMatch(/CASCADE_LIVE: "off"/);
  expect(out).toMatch(/target: 1935/);
  // Pushes from origin-a warm both edges (names the compose services resolve).
  const edges = JSON.parse(/CASCADE_EDGES: '(.*)'/.exec(out)![1]);
  expect(edges.map((e: { url: string }) => e.url)).toEqual(['http://edge-a:80', 'http://edge-b:80']);
  const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
  expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends ffmpeg/);
  expect(dockerfile).toMatch(/npm ci/);
  // Everything the package needs at run time is in the image (dist is built there, docs are for
  // readers); the console
  // assets were once missing.
  const files: string[] = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).files;
  for (const f of files.filter((x) => x !== 'dist' && x !== 'docs' && !x.includes('.'))) expect(dockerfile, f).toMatch(new RegExp(`COPY ${f} `));
});
