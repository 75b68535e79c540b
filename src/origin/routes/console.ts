/**
 * The operator console: static assets shipped in assets/console (read once at start) and the
 * player libraries from node_modules. The page itself is public; every action it takes goes
 * through the admin API with the token the operator signs in with.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { cacheControl } from '../cache-policy.js';

// src/origin/routes and dist/origin/routes are both three levels below the package root.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const require = createRequire(import.meta.url);

const ASSETS: Record<string, { file: () => string; type: string; kind: 'console-page' | 'console-asset' }> = {
  '/console': { file: () => join(root, 'assets/console/index.html'), type: 'text/html; charset=utf-8', kind: 'console-page' },
  '/console/console.js': { file: () => join(root, 'assets/console/console.js'), type: 'text/javascript; charset=utf-8', kind: 'console-asset' },
  '/console/console.css': { file: () => join(root, 'assets/console/console.css'), type: 'text/css; charset=utf-8', kind: 'console-asset' },
  '/console/lib/hls.min.js': { file: () => join(dirname(require.resolve('hls.js')), 'hls.min.js'), type: 'text/javascript; charset=utf-8', kind: 'console-asset' },
  '/console/lib/dash.all.min.js': { file: () => require.resolve('dashjs'), type: 'text/javascript; charset=utf-8', kind: 'console-asset' },
};

export function registerConsoleRoutes(app: FastifyInstance): void {
  for (const [path, a] of Object.entries(ASSETS)) {
    const body = readFileSync(a.file());
    app.get(path, async (_req, reply) => reply.header('Cache-Control', cacheControl(a.kind)).type(a.type).send(body));
  }
  app.get('/console/', async (_req, reply) => reply.redirect('/console', 301));
}
