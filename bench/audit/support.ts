/* eslint-disable no-console -- a bench prints its figures */
// Shared pieces of bench/audit: arguments, the two record mixes, statistics, tables, and who used the
// machine's cores while a figure was measured (the development machines are small and shared).
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { EventTypes, TOPICS, type AuditRecordV1 } from '@traceo/contracts';
import { Partitioners } from 'kafkajs';
import { localTcpPorts } from '../tcp-ports';

export function parseArgs(argv: readonly string[]): { value(name: string, fallback: string): string; flag(name: string): boolean } {
  const values = new Map<string, string>();
  argv.forEach((arg, i) => {
    if (!arg.startsWith('--')) return;
    const next = argv[i + 1];
    values.set(arg.slice(2), next === undefined || next.startsWith('--') ? '' : next);
  });
  return { value: (name, fallback) => values.get(name) || fallback, flag: (name) => values.has(name) };
}

/** The two kinds of traffic the audit log sees: machines acting (no data subject) and people acting (personal fields sealed). */
export type Mix = 'service' | 'user';

const SERVICE_ACTIONS = ['api.request', 'api.request', 'service.started', 'key.used', 'risk.scored', 'gateway.request-blocked'];
const USER_ACTIONS = [
  'user.signed-in',
  'api.request',
  'user.signed-out',
  'mfa.challenge-passed',
  'session.refreshed',
  'account.email-changed',
];
const BROWSERS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
];
const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'NL', 'PL'];

export interface MixShape {
  /** Distinct service actors. */
  readonly services: number;
  /** Distinct users (data subjects) per tenant. */
  readonly usersPerTenant: number;
  readonly tenants: number;
}

/**
 * Record number `n` of a mix. Tenant n mod T; the user is fixed by n's position within its tenant, so
 * each tenant sees `usersPerTenant` distinct subjects. `key` orders the records (zero-padded), so the
 * bench can check afterwards that each tenant's log holds them in production order.
 */
export function benchRecord(mix: Mix, n: number, key: string, shape: MixShape): { tenant: number; record: AuditRecordV1 } {
  const tenant = n % shape.tenants;
  const withinTenant = Math.floor(n / shape.tenants);
  const common = {
    occurredAt: new Date().toISOString(),
    status: n % 11 === 0 ? ('denied' as const) : ('success' as const),
    requestId: key,
    riskScore: n % 100,
  };
  if (mix === 'service') {
    const service = `svc-${n % shape.services}`;
    return {
      tenant,
      record: {
        ...common,
        actor: { type: 'service', id: service },
        action: SERVICE_ACTIONS[n % SERVICE_ACTIONS.length]!,
        resource: { type: 'endpoint', id: `/v1/things/${n % 1000}` },
        // A service's own address and client library: they describe a machine and stay in the clear.
        ip: `10.0.${(n >> 8) % 256}.${n % 256}`,
        userAgent: 'traceo-service-kit/1.0 node/24',
        details: { route: 'GET /v1/things/:id', durationMs: n % 250 },
      },
    };
  }
  const user = `user-${withinTenant % shape.usersPerTenant}`;
  return {
    tenant,
    record: {
      ...common,
      actor: { type: 'user', id: user },
      action: USER_ACTIONS[n % USER_ACTIONS.length]!,
      resource: { type: 'session', id: `s-${withinTenant % (shape.usersPerTenant * 4)}` },
      sessionId: `sess-${withinTenant % (shape.usersPerTenant * 4)}`,
      country: COUNTRIES[n % COUNTRIES.length]!,
      // Personal data: sealed under the user's key before the record is hashed.
      ip: `203.0.${(n >> 8) % 256}.${n % 256}`,
      userAgent: BROWSERS[n % BROWSERS.length]!,
      deviceFingerprint: `fp-${(withinTenant * 2654435761) % 4294967296}`,
    },
  };
}

/**
 * `count` tenant ids spread as evenly as possible over traceo.audit.record.v1's partitions (the key is
 * the tenant id, and a partition is consumed one batch at a time, so a skewed spread would measure the
 * busiest partition rather than the pipeline).
 */
export function balancedTenantIds(count: number, prefix: string): string[] {
  const partitions = TOPICS.find((topic) => topic.name === EventTypes.auditRecord)!.partitions;
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  const partitioner = Partitioners.DefaultPartitioner();
  const perPartition = new Array<number>(partitions).fill(0);
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i += 1) {
    const id = `${prefix}${i}`;
    const partition = partitioner({ topic: EventTypes.auditRecord, partitionMetadata, message: { key: id, value: null } });
    if (perPartition[partition]! >= Math.ceil(count / partitions)) continue;
    perPartition[partition]! += 1;
    ids.push(id);
  }
  return ids;
}

export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function latencySummary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return [0.5, 0.95, 0.99].map((q) => percentile(sorted, q).toFixed(2)).join(' / ');
}

export function printTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const cell = (text: string, i: number) => (rightAligned.includes(i) ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  console.log(`| ${header.map(cell).join(' | ')} |`);
  console.log(`| ${widths.map((w, i) => (rightAligned.includes(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.map(cell).join(' | ')} |`);
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

// ---- CPU accounting from /proc (Linux) ---------------------------------------------------------

const TICKS_PER_SECOND = 100; // USER_HZ
/**
 * bench: this process (the consumer, as audit-service would run it); postgres: the PostgreSQL backends
 * serving this process and the bench's encryption-service; pg background: walwriter, checkpointer and
 * the like (shared with everyone); other: everything else, other engineers' backends included.
 */
export type CpuGroup = 'bench' | 'postgres' | 'encryption-service' | 'kafka' | 'pg background' | 'other';

export interface CpuSnapshot {
  readonly at: number;
  readonly ticks: Map<string, { group: CpuGroup; ticks: number }>;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process exited meanwhile
  }
}

/** CPU ticks of every process, grouped (see CpuGroup). */
export function cpuSnapshot(encryptionServicePid?: number): CpuSnapshot {
  const ours = localTcpPorts(encryptionServicePid ? [process.pid, encryptionServicePid] : [process.pid]);
  const ticks = new Map<string, { group: CpuGroup; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (stat === undefined) continue;
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const pid = Number(entry);
    let group: CpuGroup = 'other';
    if (pid === process.pid) group = 'bench';
    else if (pid === encryptionServicePid) group = 'encryption-service';
    else if (comm === 'java') group = 'kafka';
    else if (comm === 'postgres') {
      // A backend's title names its client: "postgres: user db 127.0.0.1(port) state".
      const client = /\((\d+)\)/.exec(read(`/proc/${entry}/cmdline`) ?? '');
      group = !client ? 'pg background' : ours.has(Number(client[1])) ? 'postgres' : 'other';
    }
    // utime + stime; keyed by pid and start time so a reused pid is not mistaken for the same process.
    ticks.set(`${entry}:${fields[19]}`, { group, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return { at: performance.now(), ticks };
}

/** CPU seconds each group used between two snapshots, and the seconds between them. */
export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): { seconds: number; cpu: Map<CpuGroup, number> } {
  const cpu = new Map<CpuGroup, number>();
  for (const [key, { group, ticks }] of after.ticks) {
    const delta = ticks - (before.ticks.get(key)?.ticks ?? 0);
    cpu.set(group, (cpu.get(group) ?? 0) + delta / TICKS_PER_SECOND);
  }
  return { seconds: (after.at - before.at) / 1000, cpu };
}

const cleanups = new Set<() => Promise<void>>();

/** Registers work to undo if the bench is interrupted (Ctrl-C, SIGTERM); returns its unregistration. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the bench's encryption-service and dropping its scratch schemas`);
    void Promise.allSettled([...cleanups].map((cleanup) => cleanup())).then(() => process.exit(130));
  });
}

export function machineLoad(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} (1/5/15 min)`;
}

/**
 * Other audit-service processes (e2e runs, a developer's platform) consume traceo.audit.record.v1 too,
 * and would have to ingest the bench's records if they were running while it produces. (The bench
 * cannot use a topic of its own: the inbox refuses an event whose type is not the topic it came on.)
 * Waits (up to `maxMs`) until none runs; returns how many were still running.
 */
export async function waitForNoOtherAuditService(maxMs: number, log: (line: string) => void): Promise<number> {
  const others = () =>
    readdirSync('/proc').filter((entry) => {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return false;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        return /apps[/\\]audit-service[/\\](src[/\\])?main\.(js|ts)/.test(cmdline);
      } catch {
        return false;
      }
    }).length;
  const deadline = Date.now() + maxMs;
  let running = others();
  if (running > 0) log(`waiting for ${running} other audit-service process(es) to exit before producing`);
  while (running > 0 && Date.now() < deadline) {
    await sleep(2000);
    running = others();
  }
  return running;
}
