/**
 * The small-object fast path at the connection: before Node's HTTP module sees a connection, its
 * requests are read here, and as long as each one is a plain GET whose answer the response memo
 * holds (src/origin/response-memo.ts), the remembered bytes are written straight to the socket.
 * A profile put most of a replayed answer's remaining cost in node:http's per-request machinery
 * (request and response objects, header validation, stream bookkeeping); a bare socket write of
 * the same bytes costs a third of it.
 *
 * This is deliberately not an HTTP server. It answers only a strict subset and hands the
 * connection, with every byte it has read and not answered, to Node's HTTP server for good at the
 * first request outside it, so message framing is never decided by two parsers:
 * - the request head, at most 8 KiB, is `GET <origin-form target> HTTP/1.1` with token header
 *   names, values without control characters and no obs-fold (a head cut by the transport is
 *   waited for, as long as Node's header timeout);
 * - no header that frames a body or changes the exchange (Content-Length, Transfer-Encoding,
 *   Expect, Upgrade, Connection other than keep-alive, Range, conditionals), no duplicate of a
 *   header the answer depends on, and a Host;
 * - the memo has the answer (same checks as on node:http: shield secret, no token, etc.).
 * Idle connections here close after the server's keep-alive timeout, and when the server closes.
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { MemoEntry, ResponseMemo } from './response-memo.js';

const MAX_HEAD = 8 * 1024;
const GET = Buffer.from('GET ');
const REQUEST_LINE = /^GET (\/[\x21-\x7e]*) HTTP\/1\.1$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Headers this path never answers: they frame a body or ask for something else than the whole object. */
const HANDS_OVER = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'te', 'trailer', 'range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since']);

/** The request head ending at `end` (the CRLFCRLF), if it is inside the subset; undefined hands over. */
export function parseHead(buf: Buffer, end: number): { url: string; headers: IncomingHttpHeaders } | undefined {
  if (end > MAX_HEAD) return undefined;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = REQUEST_LINE.exec(lines[0]);
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined; // also obs-fold (a line starting with SP or HTAB)
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return undefined;
    const raw = line.slice(colon + 1);
    if (BAD_VALUE.test(raw)) return undefined;
    const key = name.toLowerCase();
    if (HANDS_OVER.has(key) || key in headers) return undefined;
    headers[key] = raw.replace(/^[ \t]+|[ \t]+$/g, '');
  }
  if (!headers.host) return undefined;
  if (headers.connection !== undefined && headers.connection.toLowerCase() !== 'keep-alive') return undefined;
  return { url: m[1], headers };
}

export interface FastFront {
  /** Ends the connections held here (they are idle between requests by construction). */
  closeIdle(): void;
}

/** Puts the fast path in front of `server`'s connection handling. */
export function installFastFront(server: Server, memo: ResponseMemo): FastFront {
  const nodeListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const held = new Set<Socket>();
  let closing = false;
  let dateSec = 0;
  let dateLine = Buffer.alloc(0);
  const trailer = (): Buffer => {
    const now = Date.now();
    if (Math.floor(now / 1000) !== dateSec) {
      dateSec = Math.floor(now / 1000);
      const keepAlive = Math.floor(server.keepAliveTimeout / 1000);
      dateLine = Buffer.from(`Date: ${new Date(now).toUTCString()}\r\nConnection: keep-alive\r\n${keepAlive > 0 ? `Keep-Alive: timeout=${keepAlive}\r\n` : ''}\r\n`, 'latin1');
    }
    return dateLine;
  };

  const handOver = (socket: Socket, unread: Buffer | undefined, listeners: { data: (b: Buffer) => void; error: () => void; end: () => void }): void => {
    socket.pause();
    socket.removeListener('data', listeners.data);
    socket.removeListener('error', listeners.error);
    socket.removeListener('end', listeners.end);
    socket.setTimeout(0);
    held.delete(socket);
    if (unread && unread.length > 0) socket.unshift(unread);
    for (const l of nodeListeners) l.call(server, socket);
    socket.resume();
  };

  /** One write of one buffer per answer; the buffer is rebuilt once a second for the Date line. */
  const send = (socket: Socket, e: MemoEntry): void => {
    const tail = trailer();
    if (e.wireSec !== dateSec || !e.wire) {
      e.wire = Buffer.concat([e.head, tail, e.body]);
      e.wireSec = dateSec;
    }
    socket.write(e.wire);
  };

  server.on('connection', (socket: Socket) => {
    if (closing) {
      for (const l of nodeListeners) l.call(server, socket);
      return;
    }
    held.add(socket);
    socket.setNoDelay(true);
    // A new connection gets as long as Node gives a request head; once answered, as long as Node
    // keeps an idle connection.
    let answered = false;
    const firstWait = server.headersTimeout > 0 ? server.headersTimeout : server.keepAliveTimeout;
    if (firstWait > 0) socket.setTimeout(firstWait, () => socket.destroy());
    // Pipelined requests beyond what the client reads wait here: no answer is written while the
    // socket's buffer is over its high-water mark (a client that sends and never reads costs one
    // buffer, not one answer per request it sent).
    let backlog: Buffer | undefined;
    let clientEnded = false;
    let waitingHead = false;
    const listeners = {
      data: (chunk: Buffer): void => {
        let buf = backlog ? Buffer.concat([backlog, chunk]) : chunk;
        backlog = undefined;
        while (buf.length > 0) {
          if (socket.writableNeedDrain) {
            backlog = buf;
            socket.pause();
            socket.once('drain', () => {
              socket.resume();
              listeners.data(Buffer.alloc(0));
            });
            return;
          }
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0 && buf.length < MAX_HEAD && buf.subarray(0, 4).equals(GET.subarray(0, Math.min(4, buf.length)))) {
            // The rest of a head cut by the transport: wait for it, no longer than Node would.
            backlog = buf;
            if (server.headersTimeout > 0) socket.setTimeout(server.headersTimeout);
            waitingHead = true;
            return;
          }
          if (waitingHead) {
            waitingHead = false;
            socket.setTimeout(server.keepAliveTimeout);
          }
          const req = end >= 0 ? parseHead(buf, end) : undefined;
          const entry = req ? memo.lookup({ url: req.url, method: 'GET', headers: req.headers }) : undefined;
          if (!req || !entry) return handOver(socket, buf, listeners);
          const started = performance.now();
          send(socket, entry);
          if (!answered) {
            answered = true;
            socket.setTimeout(server.keepAliveTimeout);
          }
          memo.served({ url: req.url, method: 'GET', headers: req.headers }, 200, entry.body.length, (performance.now() - started) / 1000, entry.route);
          buf = buf.subarray(end + 4);
        }
        if (clientEnded) socket.end();
      },
      error: (): void => {
        socket.destroy();
      },
      // The client is done sending (HTTP servers allow half-open sockets): every answer is written.
      end: (): void => {
        clientEnded = true;
        if (!backlog || waitingHead) socket.end();
      },
    };
    socket.on('data', listeners.data);
    socket.on('error', listeners.error);
    socket.on('end', listeners.end);
    socket.once('close', () => held.delete(socket));
  });

  return {
    closeIdle: () => {
      closing = true;
      for (const s of held) s.end();
      held.clear();
    },
  };
}
