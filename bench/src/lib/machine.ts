import { execFileSync } from 'node:child_process';
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
