/** A real HTTP proxy in front of a backend (s3rver) that counts the requests reaching it. */
import { createServer, request, type Server } from 'node:http';

export interface CountingProxy {
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
  const server: Server = createServer((req, res) => {
    const k = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    const forward = (): void => {
      const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (opts.delayMs) setTimeout(forward, opts.delayMs);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    count: (method, inc) => [...counts.entries()].filter(([k]) => k.startsWith(`${method} `) && k.includes(inc)).reduce((n, [, v]) => n + v, 0),
    reset: () => counts.clear(),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
