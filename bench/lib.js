// Shared by the bench scripts: a free port, and "upload this master and wait until it is published".
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:net';

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** PUTs `file` as title `id` and polls its job; resolves with the title view once published. */
export async function publish(url, token, id, file, query = '') {
  const auth = { authorization: `Bearer ${token}` };
  const res = await fetch(`${url}/api/v1/titles/${id}/source${query}`, { method: 'PUT', body: createReadStream(file), duplex: 'half', headers: { ...auth, 'content-length': String(statSync(file).size) } });
  const { job, error } = await res.json();
  if (!job) throw new Error(`upload refused: ${JSON.stringify(error)}`);
  for (;;) {
    const j = await (await fetch(`${url}/api/v1/jobs/${job.id}`, { headers: auth })).json();
    if (j.status === 'succeeded') break;
    if (j.status === 'failed' || j.status === 'canceled') throw new Error(JSON.stringify(j.error));
    await new Promise((r) => setTimeout(r, 50));
  }
  return (await fetch(`${url}/api/v1/titles/${id}`, { headers: auth })).json();
}

/**
 * An in-process Cascade for the live benches (free HTTP and RTMP ports, a temp data dir) with a
 * helper to create channels through the API.
 */
export async function startLiveServer(dataDir, srtPorts) {
  const { loadConfig } = await import('../dist/config.js');
  const { createServer } = await import('../dist/server.js');
  const { createLogger } = await import('../dist/shared/logger.js');
  const token = 'bench-token-0123456789abcdef';
  const config = loadConfig({ dataDir, port: 0, apiToken: token }, { ...process.env, CASCADE_RTMP_PORT: '0', CASCADE_SRT_PORTS: srtPorts });
  const server = await createServer(config, { logger: createLogger('warn') });
  const url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return {
    server,
    url,
    auth,
    channel: async (id, body) => (await fetch(`${url}/api/v1/channels/${id}`, { method: 'PUT', headers: auth, body: JSON.stringify(body) })).json(),
  };
}

/** ffmpeg arguments of a real-time test-signal publisher (H.264 zerolatency + AAC over RTMP). */
export const testSignalPublisher = (rtmpUrl) => [
  '-hide_banner', '-loglevel', 'error',
  '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-re', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000',
  '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '60', '-pix_fmt', 'yuv420p', '-b:v', '800k', '-c:a', 'aac', '-f', 'flv', rtmpUrl,
];
