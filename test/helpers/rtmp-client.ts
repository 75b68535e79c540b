/**
 * A bare RTMP publisher for hostile-input tests: it speaks just enough of the protocol
 * (plain handshake, connect, createStream, publish, then raw media messages) to send what
 * ffmpeg cannot, such as an HEVC video tag or a malformed chunk.
 */
import net from 'node:net';
import { encodeAmf0, type Amf0Value } from '../../src/ingest/live/amf0.js';

export interface RawRtmp { socket: net.Socket; closed: Promise<void>; received: () => Buffer; send(csid: number, type: number, streamId: number, payload: Buffer, ts?: number): void }

export async function rtmpConnect(port: number): Promise<RawRtmp> {
  const socket = net.connect(port, '127.0.0.1');
  let got = Buffer.alloc(0);
  socket.on('data', (d) => (got = Buffer.concat([got, d])));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)]));
  const until = Date.now() + 5000;
  while (got.length < 1 + 1536 * 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  socket.write(got.subarray(1, 1537)); // C2 = echo of S1
  const send = (csid: number, type: number, streamId: number, payload: Buffer, ts = 0): void => {
    // One type-0 chunk per message: the payload must fit the default 128-byte chunk size or we raise it first.
    const h = Buffer.alloc(12);
    h[0] = csid;
    h.writeUIntBE(ts, 1, 3);
    h.writeUIntBE(payload.length, 4, 3);
    h[7] = type;
    h.writeUInt32LE(streamId, 8);
    socket.write(Buffer.concat([h, payload]));
  };
  // Our chunk size: large, so each message goes in one chunk.
  const size = Buffer.alloc(4);
  size.writeUInt32BE(65536);
  send(2, 1, 0, size);
  return { socket, closed, received: () => got, send };
}

export function command(c: RawRtmp, streamId: number, ...values: Amf0Value[]): void {
  c.send(3, 20, streamId, encodeAmf0(...values));
}

/** connect + createStream + publish(name). */
export async function rtmpPublish(port: number, app: string, name: string): Promise<RawRtmp> {
  const c = await rtmpConnect(port);
  command(c, 0, 'connect', 1, { app, tcUrl: `rtmp://127.0.0.1:${port}/${app}` });
  command(c, 0, 'createStream', 2, null);
  command(c, 1, 'publish', 0, null, name, 'live');
  await new Promise((r) => setTimeout(r, 200));
  return c;
}
