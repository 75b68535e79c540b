/**
 * Finds processes left by an earlier run of this server (Linux /proc), so a restart can
 * kill them instead of fighting them for a port. Elsewhere it finds nothing.
 */
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessInfo { pid: number; ppid: number; argv: string[] }

export async function findProcesses(match: (p: ProcessInfo) => boolean): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const argv = (await readFile(`/proc/${e}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      if (argv.length === 0) continue;
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (match({ pid: Number(e), ppid, argv })) found.push(Number(e));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
