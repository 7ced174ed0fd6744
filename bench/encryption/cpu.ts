// Who used the machine's cores during a load run, from /proc (Linux): the service, the bench client,
// PostgreSQL, Kafka, and everything else (other work on the machine shows up there).
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export type CpuGroup = 'service' | 'bench client' | 'postgres' | 'kafka' | 'other';

export interface CpuSnapshot {
  readonly at: number;
  readonly ticks: Map<string, { group: CpuGroup; ticks: number }>;
}

/** `service`: the measured server's pid, or the pids of its replicas (their CPU is added up). */
export function cpuSnapshot(service: number | readonly number[] | undefined): CpuSnapshot {
  const servicePids = new Set(service === undefined ? [] : typeof service === 'number' ? [service] : service);
  const ticks = new Map<string, { group: CpuGroup; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // After the comm: state is field 3, utime 14 and stime 15 (1-based, see proc(5)).
    const used = Number(fields[11]) + Number(fields[12]);
    const pid = Number(entry);
    const group: CpuGroup = servicePids.has(pid)
      ? 'service'
      : pid === process.pid
        ? 'bench client'
        : comm === 'postgres'
          ? 'postgres'
          : comm === 'java'
            ? 'kafka'
            : 'other';
    // Keyed by pid and start time, so a pid reused during the run is not mistaken for the same process.
    ticks.set(`${entry}:${fields[19]}`, { group, ticks: used });
  }
  return { at: performance.now(), ticks };
}

/** Cores used by each group between two snapshots (1.0 = one core busy the whole time). */
export function coresUsed(before: CpuSnapshot, after: CpuSnapshot): Map<CpuGroup, number> {
  const seconds = (after.at - before.at) / 1000;
  const out = new Map<CpuGroup, number>();
  for (const [key, { group, ticks }] of after.ticks) {
    const delta = ticks - (before.ticks.get(key)?.ticks ?? 0);
    out.set(group, (out.get(group) ?? 0) + delta / TICKS_PER_SECOND / seconds);
  }
  return out;
}

export function formatCores(cores: Map<CpuGroup, number>): string {
  const order: CpuGroup[] = ['service', 'postgres', 'kafka', 'bench client', 'other'];
  return order.map((group) => `${group} ${(cores.get(group) ?? 0).toFixed(2)}`).join(', ');
}
