/** CORS for browser players on customers' pages (other origins than ours). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const EXPOSE = 'Content-Length, Content-Range, Content-Type, ETag, Last-Modified, Age, Date, Cache-Control';
const ALLOW_HEADERS = 'Range, If-None-Match, If-Modified-Since, Authorization, Content-Type';

export function registerCors(app: FastifyInstance, allowed: string[]): void {
  const any = allowed.includes('*');
  const originFor = (req: FastifyRequest): string | undefined => {
    const o = req.headers.origin;
    if (any) return '*';
    return o && allowed.includes(o) ? o : undefined;
  };
  const apply = (req: FastifyRequest, reply: FastifyReply): void => {
    const origin = originFor(req);
    if (!origin) return;
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Access-Control-Expose-Headers', EXPOSE);
    if (!any) reply.header('Vary', 'Origin');
  };
  app.addHook('onRequest', async (req, reply) => {
    apply(req, reply);
  });
  // Preflight for any path (players send one for Range requests).
  app.options('*', async (_req, reply) => {
    reply.header('Access-Control-Allow-Methods', 'GET, HEAD, PUT, POST, DELETE, OPTIONS');
    reply.header('Access-Control-Allow-Headers', ALLOW_HEADERS);
    reply.header('Access-Control-Max-Age', '86400');
    return reply.code(204).send();
  });
}
