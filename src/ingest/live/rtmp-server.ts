/**
 * A small RTMP ingest server (Adobe RTMP specification 1.0, 2012): handshake,
 * chunk stream, AMF0 commands connect / createStream / publish. It exists because
 * ffmpeg's `-listen` mode accepts any stream name: here the key is checked at
 * `publish` time and a wrong one is refused with NetStream.Publish.BadName before
 * any media is read. Accepted media is handed on as FLV tags (audio 8, video 9,
 * metadata 18); the channel service feeds them to ffmpeg's stdin.
 *
 * Hostile input is bounded: handshake and idle timeouts, a message size limit,
 * a cap on chunk streams, and any protocol error closes only that connection.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/logger.js';
import { amf0StringLength, decodeAmf0, encodeAmf0, type Amf0Object, type Amf0Value } from './amf0.js';

export interface PublishRequest {
  app: string;
  /** The publish name, including any `?query`. */
  streamName: string;
  remote: string;
}

export interface PublishSink {
  tag(type: 8 | 9 | 18, timestampMs: number, payload: Buffer): void;
  /** The publisher left (or the connection failed). Called once. */
  end(reason: string): void;
}

export interface PublishControl {
  /** Ends the publishing connection from our side. */
  close(reason: string): void;
}

export type PublishDecision = { ok: true; sink: PublishSink } | { ok: false; code: 'NetStream.Publish.BadName' | 'NetStream.Publish.Denied'; description: string };

export interface RtmpServerOptions {
  host: string;
  port: number;
  log: Logger;
  authorize(req: PublishRequest, control: PublishControl): PublishDecision;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxMessageBytes?: number;
}

const HANDSHAKE_SIZE = 1536;
const OUT_CHUNK_SIZE = 4096;
const WINDOW = 2_500_000;
const MAX_CHUNK_STREAMS = 64;

const MSG = { SET_CHUNK_SIZE: 1, ABORT: 2, ACK: 3, USER_CONTROL: 4, WINDOW_ACK: 5, PEER_BW: 6, AUDIO: 8, VIDEO: 9, DATA_AMF3: 15, COMMAND_AMF3: 17, DATA_AMF0: 18, COMMAND_AMF0: 20 } as const;

interface ChunkStreamState {
  timestamp: number;
  delta: number;
  length: number;
  typeId: number;
  streamId: number;
  extended: boolean;
  parts: Buffer[];
  received: number;
}

class RtmpConnection {
  private buf: Buffer = Buffer.alloc(0);
  private phase: 'c0c1' | 'c2' | 'chunks' | 'closed' = 'c0c1';
  private inChunkSize = 128;
  private streams = new Map<number, ChunkStreamState>();
  private bytesIn = 0;
  private lastAck = 0;
  private ackWindow = 0;
  private app = '';
  private sink?: PublishSink;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: RtmpServerOptions,
  ) {
    socket.setNoDelay(true);
    this.arm(opts.handshakeTimeoutMs ?? 10_000, 'handshake timeout');
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => this.finish('connection error'));
    socket.on('close', () => this.finish('publisher disconnected'));
  }

  private get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  private arm(ms: number, reason: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close(reason), ms);
    this.timer.unref();
  }

  close(reason: string): void {
    if (this.phase === 'closed') return;
    this.opts.log.info({ remote: this.remote, app: this.app, reason }, 'rtmp connection closed');
    this.finish(reason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private finish(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.timer);
    const sink = this.sink;
    this.sink = undefined;
    sink?.end(reason);
  }

  private onData(d: Buffer): void {
    if (this.phase === 'closed') return;
    this.bytesIn += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      this.step();
    } catch (err) {
      this.opts.log.warn({ remote: this.remote, err: (err as Error).message }, 'rtmp protocol error');
      this.close(`protocol error: ${(err as Error).message}`);
      return;
    }
    if (this.ackWindow > 0 && this.bytesIn - this.lastAck >= this.ackWindow) {
      this.lastAck = this.bytesIn;
      const b = Buffer.alloc(4);
      b.writeUInt32BE(this.bytesIn >>> 0);
      this.send(2, MSG.ACK, 0, b);
    }
  }

  private step(): void {
    if (this.phase === 'c0c1') {
      if (this.buf.length < 1) return;
      // C0: version 3 is plain RTMP; anything else (6 = RTMPE, or garbage) is refused.
      if (this.buf[0] !== 3) throw new Error(`not an RTMP client (C0 version byte ${this.buf[0]})`);
      if (this.buf.length < 1 + HANDSHAKE_SIZE) return;
      const c1 = this.buf.subarray(1, 1 + HANDSHAKE_SIZE);
      const s1 = Buffer.alloc(HANDSHAKE_SIZE);
      s1.writeUInt32BE(0, 0); // time
      s1.writeUInt32BE(0, 4); // zero: plain handshake, no digest
      randomBytes(HANDSHAKE_SIZE - 8).copy(s1, 8);
      this.socket.write(Buffer.concat([Buffer.from([3]), s1, c1])); // S0 S1 S2 (echo of C1)
      this.buf = this.buf.subarray(1 + HANDSHAKE_SIZE);
      this.phase = 'c2';
    }
    if (this.phase === 'c2') {
      if (this.buf.length < HANDSHAKE_SIZE) return;
      this.buf = this.buf.subarray(HANDSHAKE_SIZE);
      this.phase = 'chunks';
      this.arm(this.opts.idleTimeoutMs ?? 15_000, 'idle timeout');
    }
    while (this.phase === 'chunks' && this.readChunk());
  }

  /** Reads one chunk if complete; false when more bytes are needed. */
  private readChunk(): boolean {
    const b = this.buf;
    if (b.length < 1) return false;
    const fmt = b[0] >> 6;
    let csid = b[0] & 0x3f;
    let p = 1;
    if (csid === 0) {
      if (b.length < 2) return false;
      csid = 64 + b[1];
      p = 2;
    } else if (csid === 1) {
      if (b.length < 3) return false;
      csid = 64 + b[1] + b[2] * 256;
      p = 3;
    }
    const headerLen = [11, 7, 3, 0][fmt];
    if (b.length < p + headerLen) return false;
    let st = this.streams.get(csid);
    if (!st) {
      if (fmt !== 0) throw new Error(`chunk stream ${csid} starts without a type 0 header`);
      if (this.streams.size >= MAX_CHUNK_STREAMS) throw new Error('too many chunk streams');
      st = { timestamp: 0, delta: 0, length: 0, typeId: 0, streamId: 0, extended: false, parts: [], received: 0 };
    }
    let tsField = 0;
    let length = st.length;
    let typeId = st.typeId;
    let streamId = st.streamId;
    if (fmt <= 2) tsField = b.readUIntBE(p, 3);
    if (fmt <= 1) {
      length = b.readUIntBE(p + 3, 3);
      typeId = b[p + 6];
    }
    if (fmt === 0) streamId = b.readUInt32LE(p + 7);
    p += headerLen;
    const extended = fmt <= 2 ? tsField === 0xffffff : st.extended;
    if (extended) {
      if (b.length < p + 4) return false;
      tsField = b.readUInt32BE(p);
      p += 4;
    }
    const max = this.opts.maxMessageBytes ?? 8 * 1024 * 1024;
    if (length > max) throw new Error(`message of ${length} bytes is over the ${max}-byte limit`);
    const starting = st.received === 0;
    const take = Math.min(this.inChunkSize, length - (starting ? 0 : st.received));
    if (b.length < p + take) return false;
    // Commit the header only now that the whole chunk is here.
    if (fmt === 0) {
      st.timestamp = tsField;
      st.delta = 0;
    } else if (fmt === 1 || fmt === 2) {
      st.delta = tsField;
      if (starting) st.timestamp = (st.timestamp + tsField) >>> 0;
    } else if (starting && st.parts.length === 0 && this.streams.has(csid)) {
      st.timestamp = (st.timestamp + st.delta) >>> 0;
    }
    st.extended = extended;
    st.length = length;
    st.typeId = typeId;
    st.streamId = streamId;
    this.streams.set(csid, st);
    st.parts.push(b.subarray(p, p + take));
    st.received += take;
    this.buf = b.subarray(p + take);
    if (st.received >= st.length) {
      const payload = st.parts.length === 1 ? Buffer.from(st.parts[0]) : Buffer.concat(st.parts);
      st.parts = [];
      st.received = 0;
      this.onMessage(st.typeId, st.streamId, st.timestamp, payload);
    }
    return this.phase === 'chunks';
  }

  private onMessage(type: number, streamId: number, ts: number, payload: Buffer): void {
    switch (type) {
      case MSG.SET_CHUNK_SIZE: {
        if (payload.length < 4) throw new Error('short Set Chunk Size');
        const size = payload.readUInt32BE(0) & 0x7fffffff;
        if (size < 1 || size > 16 * 1024 * 1024) throw new Error(`chunk size ${size} out of range`);
        this.inChunkSize = size;
        return;
      }
      case MSG.WINDOW_ACK:
        if (payload.length >= 4) this.ackWindow = payload.readUInt32BE(0);
        return;
      case MSG.ABORT:
        if (payload.length >= 4) {
          const st = this.streams.get(payload.readUInt32BE(0));
          if (st) {
            st.parts = [];
            st.received = 0;
          }
        }
        return;
      case MSG.ACK:
      case MSG.USER_CONTROL:
      case MSG.PEER_BW:
        return;
      case MSG.AUDIO:
      case MSG.VIDEO:
        if (!this.sink) throw new Error('media before publish');
        this.arm(this.opts.idleTimeoutMs ?? 15_000, 'idle timeout');
        this.sink.tag(type, ts, payload);
        return;
      case MSG.DATA_AMF0: {
        if (!this.sink) return;
        // `@setDataFrame` wraps the metadata a file would carry; FLV wants only what follows.
        const first = decodeAmf0(payload.subarray(0, amf0StringLength(payload)))[0];
        this.sink.tag(18, ts, first === '@setDataFrame' ? payload.subarray(amf0StringLength(payload)) : payload);
        return;
      }
      case MSG.COMMAND_AMF0:
        this.onCommand(streamId, decodeAmf0(payload));
        return;
      case MSG.COMMAND_AMF3:
        // AMF3 command messages start with a 0 byte and then carry AMF0 values.
        this.onCommand(streamId, decodeAmf0(payload.subarray(1)));
        return;
      default:
        return;
    }
  }

  private onCommand(streamId: number, values: Amf0Value[]): void {
    const [name, txn] = values;
    const t = typeof txn === 'number' ? txn : 0;
    switch (name) {
      case 'connect': {
        const cmd = (values[2] ?? {}) as Amf0Object;
        this.app = typeof cmd.app === 'string' ? cmd.app.replace(/\/+$/, '') : '';
        this.control(MSG.WINDOW_ACK, WINDOW);
        const bw = Buffer.alloc(5);
        bw.writeUInt32BE(WINDOW);
        bw[4] = 2; // dynamic
        this.send(2, MSG.PEER_BW, 0, bw);
        this.control(MSG.SET_CHUNK_SIZE, OUT_CHUNK_SIZE);
        this.outChunkSize = OUT_CHUNK_SIZE;
        this.command(3, 0, '_result', t, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, {
          level: 'status',
          code: 'NetConnection.Connect.Success',
          description: 'Connection succeeded.',
          objectEncoding: typeof cmd.objectEncoding === 'number' ? cmd.objectEncoding : 0,
        });
        return;
      }
      case 'releaseStream':
      case 'FCPublish':
      case 'FCUnpublish':
      case 'getStreamLength':
        if (t) this.command(3, 0, '_result', t, null, undefined);
        return;
      case 'createStream':
        this.command(3, 0, '_result', t, null, 1);
        return;
      case 'publish': {
        const streamName = typeof values[3] === 'string' ? values[3] : '';
        if (this.sink) {
          this.status(streamId, 'error', 'NetStream.Publish.BadName', 'this connection already publishes');
          return;
        }
        const decision = this.opts.authorize({ app: this.app, streamName, remote: this.remote }, { close: (r) => this.close(r) });
        if (!decision.ok) {
          this.opts.log.warn({ remote: this.remote, app: this.app, code: decision.code }, 'rtmp publish refused');
          this.status(streamId, 'error', decision.code, decision.description);
          this.close(decision.description);
          return;
        }
        this.sink = decision.sink;
        this.status(streamId, 'status', 'NetStream.Publish.Start', 'publishing');
        return;
      }
      case 'deleteStream':
      case 'closeStream':
        if (this.sink) this.close('publisher unpublished');
        return;
      case 'play':
        this.status(streamId, 'error', 'NetStream.Play.Failed', 'this server only takes publishers');
        this.close('play is not supported');
        return;
      default:
        if (t) this.command(3, 0, '_error', t, null, { level: 'error', code: 'NetConnection.Call.Failed', description: `unknown command ${String(name).slice(0, 40)}` });
    }
  }

  private outChunkSize = 128;

  private control(type: number, value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    this.send(2, type, 0, b);
  }

  private command(csid: number, streamId: number, ...values: Amf0Value[]): void {
    this.send(csid, MSG.COMMAND_AMF0, streamId, encodeAmf0(...values));
  }

  private status(streamId: number, level: string, code: string, description: string): void {
    this.command(5, streamId, 'onStatus', 0, null, { level, code, description });
  }

  /** Writes one message as type 0 + type 3 chunks. */
  private send(csid: number, type: number, streamId: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const out: Buffer[] = [];
    const h = Buffer.alloc(12);
    h[0] = csid & 0x3f;
    h.writeUIntBE(0, 1, 3);
    h.writeUIntBE(payload.length, 4, 3);
    h[7] = type;
    h.writeUInt32LE(streamId, 8);
    out.push(h);
    for (let off = 0; off < payload.length; off += this.outChunkSize) {
      if (off > 0) out.push(Buffer.from([0xc0 | (csid & 0x3f)]));
      out.push(payload.subarray(off, off + this.outChunkSize));
    }
    this.socket.write(Buffer.concat(out));
  }
}

export class RtmpServer {
  private server?: net.Server;
  private readonly connections = new Set<RtmpConnection>();
  private readonly sockets = new Set<net.Socket>();
  constructor(private readonly opts: RtmpServerOptions) {}

  async listen(): Promise<number> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      const c = new RtmpConnection(socket, this.opts);
      this.connections.add(c);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.connections.delete(c);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.close('server shutting down');
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
