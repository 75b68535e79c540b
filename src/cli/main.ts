/** The `cascade` command line. User-facing output goes to stdout/stderr here and only here. */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { ConfigError, loadClientConfig, loadConfig } from '../config.js';
import { createServer, type Server } from '../server.js';
import { ApiClient, ApiError } from './client.js';
import { ProgressReporter } from './progress.js';
import { runDemo } from './demo.js';
import { PUSH_HELP, pushCommand } from './push.js';

const USAGE = `usage: cascade <command> [options]

  serve   [--port 8080] [--host 127.0.0.1] [--data ./data] [--storage file://<dir>|s3://<bucket>/<prefix>] [--config file.json]
  demo    [--port 8080] [--data ./data]
  ingest  <file> --title <id> [--ladder <name|file.json>] [--server http://127.0.0.1:8080]
  live    create <id> [--low-latency] [--dvr <seconds>] [--ladder <name>] | ls | stop <id> | rm <id>
  push    plan|run|schedule|ls|status|cancel|release ... [--top N] [--titles a,b] [--edges all] [--budget 50GB]

Every command accepts --json.`;

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

const HELP: Record<string, string> = {
  serve: `cascade serve [--port 8080] [--host 127.0.0.1] [--data ./data] [--storage <url>] [--config file.json] [--json]

Runs the origin, the admin API, the console and the ingest workers in one process.
  --storage file://<dir>          local object store (default: <data>/store)
  --storage s3://<bucket>/<prefix> any S3-compatible store (CASCADE_S3_ENDPOINT, AWS_* credentials)
Prints the API token when it generates one (saved in <data>/api-token).

examples:
  cascade serve
  CASCADE_S3_ENDPOINT=http://127.0.0.1:9000 cascade serve --storage s3://media/cascade`,
  live: `cascade live create <id> [--low-latency] [--dvr <seconds>] [--ladder sd|low|passthrough] [--takeover] [--json]
cascade live ls [--json]
cascade live stop <id> [--json]      end the presentation (EXT-X-ENDLIST, static MPD); the channel stays
cascade live rm <id>                 stop and remove the channel with its media

create prints the RTMP and SRT ingest URLs (with the stream key and passphrase) and the playback URLs.
Ladders: sd (540p + 360p, x264 superfast), low (360p + 240p, ultrafast), passthrough (no re-encode).
Options: --server <url>, --token <token> (else CASCADE_API_TOKEN or ./data/api-token).

examples:
  cascade live create news --low-latency --dvr 300
  ffmpeg -re -i input.mp4 -c:v libx264 -g 60 -c:a aac -f flv 'rtmp://127.0.0.1:1935/live/news?key=...'
  cascade live ls --json`,
  push: PUSH_HELP,
  demo: `cascade demo [--port 8080] [--data ./data] [--json] [--exit-when-ready]

Starts serve, encodes a generated 20 s sample and prints the console and playback URLs.`,
  ingest: `cascade ingest <file> --title <id> [--ladder <preset|file.json>] [--server <url>] [--token <token>] [--json]

Uploads a master to a running server and follows its job; exit 0 when the title is published,
1 when the job fails (the reason is printed), 2 on usage errors, 3 when the server is unreachable.
The token comes from --token, CASCADE_API_TOKEN or ./data/api-token.

examples:
  cascade ingest film.mov --title film
  cascade ingest film.mov --title film --ladder fast --server http://origin:8080 --json`,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command && HELP[command] && (rest.includes('--help') || rest.includes('-h'))) {
    out(HELP[command]);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'demo':
        return await demo(rest);
      case 'ingest':
        return await ingest(rest);
      case 'live':
        return await live(rest);
      case 'push':
        return await pushCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return command ? 0 : 2;
      default:
        err(`cascade: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ApiError) {
      const json = rest.includes('--json');
      if (json) out(JSON.stringify({ error: { code: e instanceof ApiError ? e.code : 'INVALID_CONFIG', message: e.message } }));
      else err(`cascade ${command}: ${e instanceof ApiError ? `${e.code}: ` : ''}${e.message}`);
      return e instanceof ApiError && e.status === 0 ? 3 : 1;
    }
    if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      err(`cascade ${command}: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

async function live(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'low-latency': { type: 'boolean' },
      dvr: { type: 'string' },
      ladder: { type: 'string' },
      takeover: { type: 'boolean' },
      server: { type: 'string' },
      data: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const [sub, id] = positionals;
  const client = loadClientConfig({ server: values.server, dataDir: values.data, token: values.token });
  if (!client.token) throw new ConfigError('token', `no API token: set CASCADE_API_TOKEN or run from the server's directory (${client.tokenFile})`);
  const api = new ApiClient(client.server, client.token);
  const abs = (u: string): string => new URL(u, client.server).toString();
  if (sub === 'create' && id) {
    const dvr = values.dvr !== undefined ? Number(values.dvr) : undefined;
    if (dvr !== undefined && !Number.isFinite(dvr)) throw new ConfigError('dvr', 'must be a number of seconds');
    const ch = await api.putChannel(id, { lowLatency: Boolean(values['low-latency']), dvrWindowSec: dvr, ladder: values.ladder, allowTakeover: values.takeover });
    if (values.json) out(JSON.stringify(ch));
    else {
      out(`channel ${ch.id} (${ch.state}, ladder ${ch.ladder}, ${ch.lowLatency ? 'low latency' : 'standard latency'}, DVR ${ch.dvrWindowSec}s)`);
      out(`RTMP: ${ch.ingest.rtmp}`);
      out(`      (OBS: server ${ch.ingest.rtmpServer}, stream key ${ch.ingest.streamKey})`);
      out(`SRT:  ${ch.ingest.srt}`);
      out(`HLS:  ${abs(ch.playback.hls)}`);
      out(`DASH: ${abs(ch.playback.dash)}`);
    }
    return 0;
  }
  if (sub === 'ls') {
    const { channels } = await api.channels();
    if (values.json) out(JSON.stringify({ channels }));
    else if (channels.length === 0) out('no channels');
    else for (const c of channels) out(`${c.id}\t${c.state}\t${c.ladder}\t${c.lowLatency ? 'LL' : '--'}\t${c.input ? `${c.input.protocol} ${c.input.bitrateKbps} kb/s ${c.input.frameRate} fps` : '-'}\t${abs(c.playback.hls)}`);
    return 0;
  }
  if (sub === 'stop' && id) {
    const ch = await api.stopChannel(id);
    if (values.json) out(JSON.stringify(ch));
    else out(`channel ${ch.id} stopped`);
    return 0;
  }
  if (sub === 'rm' && id) {
    await api.removeChannel(id);
    if (values.json) out(JSON.stringify({ removed: id }));
    else out(`channel ${id} removed`);
    return 0;
  }
  err(`usage: ${HELP.live.split('\n\n')[0]}`);
  return 2;
}

const serverFlags = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  storage: { type: 'string' },
  config: { type: 'string' },
  'rtmp-port': { type: 'string' },
  json: { type: 'boolean' },
} as const;

function onSignals(server: Server): Promise<number> {
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      server.logger.info({ signal: sig }, 'shutting down');
      void server.close().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

export async function startServer(values: { port?: string; host?: string; data?: string; storage?: string; config?: string; logLevel?: string; 'rtmp-port'?: string }): Promise<{ server: Server; url: string }> {
  const config = loadConfig({ port: values.port, host: values.host, dataDir: values.data, storage: values.storage, configFile: values.config, logLevel: values.logLevel, rtmpPort: values['rtmp-port'] });
  const server = await createServer(config);
  const address = await server.app.listen({ port: config.port, host: config.host });
  return { server, url: address.replace('[::1]', 'localhost') };
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: serverFlags, allowPositionals: false });
  const { server, url } = await startServer(values);
  if (values.json) {
    out(JSON.stringify({ url, dataDir: server.config.dataDir, storage: server.store.location, apiToken: server.tokenGenerated ? server.apiToken : undefined, tokenFile: `${server.config.dataDir}/api-token` }));
  } else {
    out(`Cascade origin listening on ${url}`);
    out(`storage: ${server.store.location}   data: ${server.config.dataDir}`);
    if (server.tokenGenerated) out(`API token (generated, saved in ${server.config.dataDir}/api-token): ${server.apiToken}`);
    else if (!server.config.apiToken) out(`API token: read from ${server.config.dataDir}/api-token`);
  }
  return onSignals(server);
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' }, 'exit-when-ready': { type: 'boolean' } }, allowPositionals: false });
  // The demo talks to a person: only warnings and errors go to the log.
  const { server, url } = await startServer({ port: values.port ?? '8080', data: values.data, logLevel: 'warn' });
  try {
    const result = await runDemo(server, url, { json: Boolean(values.json), print: out, progress: new ProgressReporter() });
    if (values.json) out(JSON.stringify(result));
  } catch (e) {
    await server.close();
    throw e;
  }
  if (values['exit-when-ready']) {
    await server.close();
    return 0;
  }
  if (!values.json) out('\nPress Ctrl-C to stop.');
  return onSignals(server);
}

async function ingest(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { title: { type: 'string' }, ladder: { type: 'string' }, server: { type: 'string' }, data: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file || !values.title) {
    err('usage: cascade ingest <file> --title <id> [--ladder <name|file.json>] [--server <url>]');
    return 2;
  }
  const client = loadClientConfig({ server: values.server, dataDir: values.data, token: values.token });
  if (!client.token) throw new ConfigError('token', `no API token: set CASCADE_API_TOKEN or run from the server's directory (${client.tokenFile})`);
  let ladder = values.ladder;
  if (ladder && /\.json$/i.test(ladder)) {
    try {
      ladder = JSON.stringify(JSON.parse(await readFile(ladder, 'utf8')));
    } catch (e) {
      throw new ConfigError('ladder', `cannot read ladder file ${values.ladder}: ${(e as Error).message}`);
    }
  }
  const api = new ApiClient(client.server, client.token);
  const progress = new ProgressReporter();
  const job = await api.upload(values.title, file, { ladder, onBytes: values.json ? undefined : (s, t) => progress.update('upload', t ? s / t : 1) });
  progress.done();
  const final = await api.waitJob(job.id, (j) => {
    if (!values.json) progress.update(j.status === 'queued' ? 'queued' : j.stage, j.progress);
  });
  progress.done();
  if (final.status !== 'succeeded') {
    if (values.json) out(JSON.stringify({ job: final }));
    else err(`cascade ingest: job ${final.id} ${final.status}: ${final.error ? `${final.error.code}: ${final.error.message}` : ''}`);
    return 1;
  }
  const title = await api.title(values.title);
  if (values.json) out(JSON.stringify({ job: final, title }));
  else {
    out(`title ${title.id} ready (${title.durationSec}s, ${title.renditions.length} renditions, version ${title.version})`);
    if (title.playback) {
      out(`HLS:  ${new URL(title.playback.hls, client.server)}`);
      out(`DASH: ${new URL(title.playback.dash, client.server)}`);
    }
  }
  return 0;
}
