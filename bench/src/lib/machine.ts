import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  nproc: number;
  uname: string;
  node: string;
  memTotal: string;
  date: string;
  commit: string;
  /** 1/5/15-minute load averages: other jobs on a shared machine make timings noisy */
  loadavg: number[];
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

export function machineInfo(): MachineInfo {
  const free = run('free', ['-h']);
  const memLine = free.split('\n').find((l) => l.startsWith('Mem:'));
  return {
    nproc: os.availableParallelism(),
    uname: run('uname', ['-a']),
    node: process.version,
    memTotal: memLine?.split(/\s+/)[1] ?? `${Math.round(os.totalmem() / 2 ** 30)}Gi`,
    date: new Date().toISOString(),
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    loadavg: loadavg(),
  };
}

export function loadavg(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/**
 * CPU time of the benchmark's PostgreSQL cluster (/proc; the server is local): its postmaster
 * (with the children it reaped) and every process titled with the cluster's name, so that other
 * clusters on the machine do not count.
 */
export function postgresCpuMs(cluster: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (!cmdline.startsWith(`postgres: ${cluster}:`) && !(cmdline.includes('bin/postgres') && cmdline.includes(`/${cluster}/`))) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]); // utime stime cutime cstime
    } catch {
      // the process ended meanwhile
    }
  }
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** CPU time (user + system) of one process so far, from /proc. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}
