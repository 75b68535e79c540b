/** A real nginx edge (Debian's nginx) in front of an origin, with the shipped deploy/nginx/edge.conf. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { stopChild } from './processes.js';
import { join } from 'node:path';
import { freePort } from './s3rver.js';

export interface NginxEdge { url: string; stop(): Promise<void> }

export async function startNginxEdge(origin: string): Promise<NginxEdge> {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-nginx-'));
  await chmod(dir, 0o777); // workers run unprivileged and write the cache
  await mkdir(join(dir, 'cache'), { mode: 0o777 });
  await chmod(join(dir, 'cache'), 0o777);
  const port = await freePort();
  const edge = (await readFile(new URL('../../deploy/nginx/edge.conf', import.meta.url), 'utf8'))
    .replaceAll('${ORIGIN}', new URL(origin).host)
    .replaceAll('${LISTEN}', `127.0.0.1:${port}`)
    .replaceAll('${CACHE_DIR}', join(dir, 'cache'));
  await writeFile(join(dir, 'edge.conf'), edge);
  await writeFile(
    join(dir, 'nginx.conf'),
    `load_module /usr/lib/nginx/modules/ngx_http_cache_purge_module.so;
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http { access_log off;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;
  include ${dir}/edge.conf; }
`,
  );
  const child: ChildProcess = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      if (i > 50) throw new Error(`nginx did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: async () => {
      await stopChild(child, 'SIGQUIT');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
