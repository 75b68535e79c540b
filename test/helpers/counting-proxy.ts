/**
 * A real HTTP proxy in front of a backend (s3rver) that counts the requests reaching it, and can
 * inject faults: an error status, a delay, or a connection reset part-way through the request.
 */
import { createServer, request, type Server } from 'node:http';

export type Fault = { status: number } | { delayMs: number } | { reset: true } | undefined;

export interface CountingProxy {
  /** Decides a fault per request (method, path); undefined passes it through. */
  fault?: (method: string, path: string) => Fault;
  url: string;
  /** "METHOD /path" → count (query strings dropped). */
  counts: Map<string, number>;
  count(method: string, pathIncludes: string): number;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string, opts: { delayMs?: number } = {}): Promise<CountingProxy> {
  const t = new URL(target);
  const counts = new Map<string, number>();
  const proxy = {} as CountingProxy;
  const server: Server = createServer((req, res) => {
    const k = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    const f = proxy.fault?.(req.method ?? 'GET', (req.url ?? '').split('?')[0]);
    if (f && 'status' in f) {
      req.resume();
      res.writeHead(f.status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><Error><Code>${f.status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected</Message></Error>`);
      return;
    }
    if (f && 'reset' in f) {
      // Read some of the request, then drop the connection without an answer.
      req.once('data', () => req.socket.destroy());
      req.once('end', () => req.socket.destroy());
      return;
    }
    const forward = (): void => {
      const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    const delay = (f && 'delayMs' in f ? f.delayMs : 0) || opts.delayMs;
    if (delay) setTimeout(forward, delay);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    counts,
    count: (method: string, inc: string) => [...counts.entries()].filter(([k]) => k.startsWith(`${method} `) && k.includes(inc)).reduce((n, [, v]) => n + v, 0),
    reset: () => counts.clear(),
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
