/** Operational endpoints (no token): health, metrics, time. */
import type { FastifyInstance } from 'fastify';
import { cacheControl } from '../cache-policy.js';
import type { Metrics } from '../metrics.js';

export function registerOpsRoutes(app: FastifyInstance, deps: { metrics: Metrics; healthy: () => Promise<boolean>; now: () => Date }): void {
  app.get('/healthz', async (_req, reply) => {
    const ok = await deps.healthy();
    return reply.code(ok ? 200 : 503).header('Cache-Control', cacheControl('health')).send({ status: ok ? 'ok' : 'unavailable' });
  });
  // ISO-8601 UTC with milliseconds: the DASH UTCTiming source (urn:mpeg:dash:utc:http-iso:2014).
  app.get('/time', async (_req, reply) => reply.header('Cache-Control', cacheControl('time')).type('text/plain; charset=utf-8').send(deps.now().toISOString()));
  app.get('/metrics', async (_req, reply) => reply.header('Cache-Control', cacheControl('health')).type('text/plain; version=0.0.4').send(deps.metrics.render()));
}
