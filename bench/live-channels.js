// Channels per machine in passthrough: N live channels, each fed by a cheap publisher (ffmpeg
// -c copy looping one pre-encoded FLV), and the CPU that Cascade (the Node process and its
// per-channel ffmpeg remuxers) spends at steady state. Reference in the same run: nginx with the
// RTMP module (libnginx-mod-rtmp) taking the same N streams and writing HLS (remux, no encode).
// Prints CPU % (100 % = one core) per N for both, the ratio, and the channel count at which
// Cascade would use 80 % of the machine.
// Usage: npm run build && node bench/live-channels.js [N,N,...]   (default 1,4,8)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startLiveServer } from './lib.js';

const COUNTS = (process.argv[2] ?? '1,4,8').split(',').map(Number);
const WARM_MS = 6000;
const MEASURE_MS = 15000;
const TICK = 100; // USER_HZ
const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-channels-'));
const sample = join(dir, 'sample.flv');
execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', '20',
  '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-keyint_min', '60', '-pix_fmt', 'yuv420p', '-b:v', '3000k', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', sample]);

/** CPU seconds (user + system) of a pid and, optionally, its children by ppid. */
function cpuOf(pid, withChildren) {
  let ticks = 0;
  for (const p of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      if (Number(p) === pid || (withChildren && ppid === pid)) ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      /* gone */
    }
  }
  return ticks / TICK;
}

const publishers = [];
const startPublishers = (urls) => urls.forEach((u) => publishers.push(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', sample, '-c', 'copy', '-f', 'flv', u], { stdio: 'ignore' })));
const stopPublishers = async () => {
  await Promise.all(publishers.splice(0).map((p) => new Promise((r) => (p.exitCode !== null ? r() : (p.once('exit', r), p.kill('SIGKILL'))))));
};
async function measure(sampleCpu) {
  await new Promise((r) => setTimeout(r, WARM_MS));
  const c0 = sampleCpu();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  return ((sampleCpu() - c0) / ((Date.now() - t0) / 1000)) * 100;
}

// Cascade, in this process: its own CPU plus its ffmpeg children.
const { server, url, auth, channel } = await startLiveServer(join(dir, 'cascade'), '29200-29299');
const cascade = {};
for (const n of COUNTS) {
  const urls = [];
  for (let i = 0; i < n; i++) {
    const ch = await channel(`c${n}x${i}`, { ladder: 'passthrough', lowLatency: true });
    urls.push(ch.ingest.rtmp);
  }
  startPublishers(urls);
  const own0 = cpuOf(process.pid, false);
  const t0 = Date.now();
  cascade[n] = await measure(() => cpuOf(process.pid, true));
  const ownPct = ((cpuOf(process.pid, false) - own0) / ((Date.now() - t0) / 1000)) * 100;
  await stopPublishers();
  const live = server.channels.list().filter((c) => c.session?.began).length;
  for (let i = 0; i < n; i++) await fetch(`${url}/api/v1/channels/c${n}x${i}`, { method: 'DELETE', headers: auth });
  console.log(`cascade  ${String(n).padStart(2)} channels: ${cascade[n].toFixed(1)} % CPU (Node process about ${ownPct.toFixed(1)} %, the rest ffmpeg remuxers; ${live} were live at the end)`);
}
await server.close();

// Reference: nginx-rtmp writing HLS for the same streams.
const ngxDir = join(dir, 'nginx');
mkdirSync(join(ngxDir, 'hls'), { recursive: true });
const port = await freePort();
writeFileSync(join(ngxDir, 'nginx.conf'), `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; master_process off; worker_processes 1; error_log ${ngxDir}/error.log warn; pid ${ngxDir}/nginx.pid;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:${port}; application live { live on; hls on; hls_path ${ngxDir}/hls; hls_fragment 2s; hls_playlist_length 60s; } } }
`);
const nginx = spawn('nginx', ['-p', ngxDir, '-c', join(ngxDir, 'nginx.conf')], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
const reference = {};
for (const n of COUNTS) {
  startPublishers(Array.from({ length: n }, (_, i) => `rtmp://127.0.0.1:${port}/live/c${n}x${i}`));
  reference[n] = await measure(() => cpuOf(nginx.pid, false));
  await stopPublishers();
  console.log(`nginx-rtmp ${String(n).padStart(2)} channels: ${reference[n].toFixed(1)} % CPU`);
}
nginx.kill('SIGKILL');
const top = COUNTS.at(-1);
const perChannel = cascade[top] / top;
console.log(`\nper channel at ${top}: cascade ${perChannel.toFixed(1)} %, nginx-rtmp ${(reference[top] / top).toFixed(1)} %  (ratio ${(cascade[top] / reference[top]).toFixed(2)})`);
console.log(`passthrough channels at 80 % of this ${cpus().length}-core machine: about ${Math.floor((0.8 * cpus().length * 100) / perChannel)} (LL-HLS parts, DASH, in-memory window; nginx-rtmp writes plain TS HLS only)`);
rmSync(dir, { recursive: true, force: true });
