/** `cascade push`: plan, run, schedule, follow and cancel pre-positioning pushes through the API. */
import { parseArgs } from 'node:util';
import { ConfigError, loadClientConfig } from '../config.js';
import type { PushView } from '../push/push-service.js';
import type { PushPlan } from '../push/push-store.js';
import { ApiClient } from './client.js';
import { ProgressReporter } from './progress.js';

export const PUSH_HELP = `cascade push plan     [--titles a,b] [--top N] [--edges all|a,b] [--budget 50GB] [--json]
cascade push run      [--titles a,b] [--top N] [--edges all|a,b] [--budget 50GB] [--detach] [--json]
cascade push schedule --at <ISO time> [--release-at <ISO time>] [--titles a,b] [--top N] [--edges ...] [--budget ...] [--json]
cascade push ls | status <id> [--follow] | cancel <id>      [--json]
cascade push release <title> <ISO time|none>                 set or clear a title's release time

plan is a dry run: the titles chosen (and why), objects and bytes per edge, and what the budget left out.
run starts now and follows the push with a progress bar (exit 0 when every object is verified on every
edge, 1 when it failed or was canceled); schedule stores it for --at (it survives restarts; a push
missed while the server was down runs late only if its release is still ahead).
Titles: --titles names them; --top N adds the N most watched (demand measured by the origin); titles
with a release time ahead are always included. --budget is per edge (B, KB, MB, GB, TB; KiB... too).
Options: --server <url>, --token <token> (else CASCADE_API_TOKEN or ./data/api-token).

examples:
  cascade push plan --top 20 --edges all --budget 50GB
  cascade push schedule --at 2026-11-22T20:00:00Z --top 20 --edges edge-a,edge-b --budget 50GB
  cascade push run --titles episode-7 --edges all`;

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** "50GB" → 50000000000; plain numbers are bytes. */
export function parseBytes(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError('budget', `expected a size like 50GB or 500MiB, got ${JSON.stringify(s)}`);
  return Math.floor(Number(m[1]) * unit);
}

export function formatBytes(n: number): string {
  for (const [u, v] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6], ['kB', 1e3]] as const) if (n >= v) return `${(n / v).toFixed(n >= v * 100 ? 0 : 1)} ${u}`;
  return `${n} B`;
}

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

function printPlan(p: PushPlan): void {
  out(`titles (${p.titles.length}):`);
  for (const t of p.titles) out(`  ${t.id}\t${t.version}\t${t.reason}${t.releaseAt ? ` (release ${t.releaseAt})` : ''}\tdemand ${t.demand}`);
  out(`objects per edge: ${p.objects.length} (${formatBytes(p.bytes)})${p.budgetBytesPerEdge ? ` of a ${formatBytes(p.budgetBytesPerEdge)} budget` : ''}`);
  for (const e of p.edges) out(`  ${e.name}\t${e.kind}\t${e.objects} objects\t${formatBytes(e.bytes)}`);
  if (p.leftOut.length) {
    out(`left out by the budget: ${p.objectsLeftOut} objects (${formatBytes(p.bytesLeftOut)})`);
    for (const g of p.leftOut) out(`  ${g.titleId}\t${g.rendition}\t${g.fromSec.toFixed(0)}-${g.toSec.toFixed(0)} s\t${g.objects} objects\t${formatBytes(g.bytes)}`);
  }
}

function printPush(p: PushView): void {
  out(`push ${p.id}\t${p.status}\tat ${p.at}\t${p.objectsDone}/${p.objectsTotal} objects\t${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`);
  for (const e of p.edges) {
    out(`  ${e.name}\t${e.kind}\t${e.objectsDone}/${e.objectsTotal}${e.objectsPresent ? ` (${e.objectsPresent} already there)` : ''}\t${e.failed ? `FAILED ${e.error?.code ?? ''}: ${e.error?.message ?? ''}` : 'ok'}`);
    for (const f of e.failures.slice(0, 5)) out(`    ${f.path}: ${f.code} ${f.message}`);
  }
  if (p.error) out(`  error: ${p.error.code}: ${p.error.message}`);
}

export async function pushCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      titles: { type: 'string' },
      top: { type: 'string' },
      edges: { type: 'string' },
      budget: { type: 'string' },
      at: { type: 'string' },
      'release-at': { type: 'string' },
      detach: { type: 'boolean' },
      follow: { type: 'boolean' },
      server: { type: 'string' },
      data: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const [sub, arg, arg2] = positionals;
  const client = loadClientConfig({ server: values.server, dataDir: values.data, token: values.token });
  if (!client.token) throw new ConfigError('token', `no API token: set CASCADE_API_TOKEN or run from the server's directory (${client.tokenFile})`);
  const api = new ApiClient(client.server, client.token);
  const body = (): Record<string, unknown> => {
    const top = values.top !== undefined ? Number(values.top) : undefined;
    if (top !== undefined && (!Number.isInteger(top) || top < 1)) throw new ConfigError('top', 'must be a positive integer');
    return {
      ...(values.titles ? { titles: values.titles.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
      ...(top ? { top } : {}),
      edges: values.edges ?? 'all',
      ...(values.budget ? { budgetBytesPerEdge: parseBytes(values.budget) } : {}),
    };
  };
  const follow = async (p: PushView): Promise<number> => {
    const progress = new ProgressReporter();
    const final = await api.waitPush(p.id, (x) => {
      if (!values.json) progress.update(x.status === 'scheduled' ? 'waiting' : 'push', x.objectsTotal ? x.objectsDone / x.objectsTotal : 0);
    });
    progress.done();
    if (values.json) out(JSON.stringify(final));
    else printPush(final);
    return final.status === 'succeeded' ? 0 : 1;
  };

  switch (sub) {
    case 'plan': {
      const plan = await api.pushPlan(body());
      if (values.json) out(JSON.stringify(plan));
      else printPlan(plan);
      return 0;
    }
    case 'run': {
      const p = await api.createPush(body());
      if (values.detach) {
        if (values.json) out(JSON.stringify(p));
        else out(`push ${p.id} started: ${p.objectsTotal} objects, ${formatBytes(p.bytesTotal)} (cascade push status ${p.id} --follow)`);
        return 0;
      }
      if (!values.json) out(`push ${p.id}: ${p.objectsTotal} objects, ${formatBytes(p.bytesTotal)} to ${p.edges.map((e) => e.name).join(', ')}`);
      return follow(p);
    }
    case 'schedule': {
      if (!values.at) throw new ConfigError('at', 'schedule needs --at <ISO time>');
      const p = await api.createPush({ ...body(), at: values.at, ...(values['release-at'] ? { releaseAt: values['release-at'] } : {}) });
      if (values.json) out(JSON.stringify(p));
      else out(`push ${p.id} scheduled at ${p.at}: ${p.objectsTotal} objects, ${formatBytes(p.bytesTotal)} to ${p.edges.map((e) => e.name).join(', ')} (planned again when it runs)`);
      return 0;
    }
    case 'ls': {
      const { pushes, edges } = await api.pushes();
      if (values.json) out(JSON.stringify({ pushes, edges }));
      else {
        out(`edges: ${edges.map((e) => `${e.name} (${e.kind})`).join(', ') || 'none configured (CASCADE_EDGES)'}`);
        for (const p of pushes) out(`${p.id}\t${p.status}\t${p.at}\t${p.objectsDone}/${p.objectsTotal}\t${formatBytes(p.bytesDone)}\t${p.edges.map((e) => `${e.name}${e.failed ? '!' : ''}`).join(',')}`);
      }
      return 0;
    }
    case 'status': {
      if (!arg) break;
      const p = await api.push(arg);
      if (values.follow) return follow(p);
      if (values.json) out(JSON.stringify(p));
      else printPush(p);
      return p.status === 'failed' || p.status === 'canceled' ? 1 : 0;
    }
    case 'cancel': {
      if (!arg) break;
      const p = await api.cancelPush(arg);
      if (values.json) out(JSON.stringify(p));
      else out(`push ${p.id} ${p.status}`);
      return 0;
    }
    case 'release': {
      if (!arg || !arg2) break;
      const t = await api.setRelease(arg, arg2 === 'none' ? null : arg2);
      if (values.json) out(JSON.stringify(t));
      else out(t.releaseAt ? `title ${t.id} releases at ${t.releaseAt}: pushes include it until then` : `title ${t.id} has no release time`);
      return 0;
    }
  }
  err(`usage:\n${PUSH_HELP.split('\n\n')[0]}`);
  return 2;
}
