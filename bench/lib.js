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
