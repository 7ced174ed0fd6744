// bench/rate-limit/guard-http — HTTP throughput and CPU cost of a minimal service on the full ServiceKit
// stack (startService: config, PostgreSQL schema and outbox relay, Kafka, the AuthGuard with API keys,
// the HTTP audit middleware writing one audit record per call to the outbox, problem+json, pino) with
// the RateLimitGuard off (TRACEO_RATE_LIMIT_ENABLED=false) and on: counters in the shared Redis of
// tools/infra (exact, one script per request), in memory, and the opt-in approximate mode that decides
// locally and syncs with Redis every 100 ms. Each variant is its own Node process, started once; the
// load generator (closed loop, keep-alive node:http) takes turns on them in short rounds, rotating the
// order and waiting after each turn until that service's outbox is drained.
//
// Two comparisons, because identical processes differ by several per cent here (`--variants
// off,off-2,…` adds a second guard-off process as the control):
// - in-process (the figure to quote): every process also serves the same route under
//   @SkipRateLimit(), measured in the turn next to the limited one, so the guard's cost is taken
//   within one process; in the guard-off process both routes are the same code path (the noise floor);
// - across processes, each variant against the guard-off process of the same round.
// CPU is counted to the end of the drain, so the outbox relay's work is charged to the turn that
// caused it, and for the service process, its own PostgreSQL backends and Redis ("own CPU"): a Redis
// round trip per request changes how many audit records share one group-commit transaction (reported
// per turn), which moves cost from the service into PostgreSQL, where only counting both shows it.
// The limits are set far above the offered load: every request is admitted and counted, the guard's
// expensive path. Not a test: nothing is asserted beyond every answer being 200.
//
//   npm run bench:rate-limit:http -- [--seconds 3] [--rounds 15] [--warmup 3] [--concurrency 32] [--clients 16]
//     [--variants off,redis,memory,synced] (also off-2) [--json rounds.json]
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Controller, Get, Module } from '@nestjs/common';
import { RequirePermissions } from '@traceo/security';
import { baseConfigSchema, ServiceKitModule, SkipRateLimit, startService, type ServiceRuntime } from '@traceo/service-kit';
import { createRateLimitRedis } from '@traceo/rate-limit';
import { freePort, loadInfraEnv, startTsProcess, type RunningProcess } from '@traceo/testing';
import type { Redis } from 'ioredis';
import { Client as PgClient, type Client } from 'pg';
import { localTcpPorts } from '../tcp-ports';
import { benchNamespace, dropBenchTopics } from '../kafka-namespace';

const args = new Map(process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1] ?? '']] : [])));
const SECONDS = Number(args.get('seconds') ?? 3);
const ROUNDS = Number(args.get('rounds') ?? 15);
const WARMUP = Number(args.get('warmup') ?? 3);
const CONCURRENCY = Number(args.get('concurrency') ?? 32);
const CLIENTS = Number(args.get('clients') ?? 16);

// ------------------------------------------------------------------------------ the service ---

@Controller('v1/bench')
class PingController {
  @RequirePermissions()
  @Get('ping')
  ping(): { ok: true } {
    return { ok: true };
  }

  /**
   * The same route exempt from the guard (the guard returns after a metadata lookup; no decision, no
   * headers), audited alike (`GET /v1/bench/free` has the length of `GET /v1/bench/ping`): the guard's
   * cost measured against it runs in one process, so placement, JIT and heap state are shared.
   */
  @RequirePermissions()
  @SkipRateLimit()
  @Get('free')
  free(): { ok: true } {
    return { ok: true };
  }
}

/** Runs in the child: the service as runService would start it, then `ready` on a line of its own. */
async function serve(): Promise<void> {
  await startService({
    name: 'bench-rate-limit-service',
    description: 'RateLimitGuard HTTP bench',
    configSchema: baseConfigSchema,
    rootModule: (runtime: ServiceRuntime) => {
      @Module({ imports: [ServiceKitModule.forRoot(runtime)], controllers: [PingController] })
      class BenchModule {}
      return BenchModule;
    },
  });
  process.stdout.write('ready\n');
}

// ------------------------------------------------------------------------------- the bench ---

interface Variant {
  readonly name: string;
  readonly env: Record<string, string>;
}

interface Round {
  readonly perSecond: number;
  /** CPU time of the service process per answered request during the load, µs (as before: excludes the drain). */
  readonly cpuMicros: number;
  /** The same from the start of the load until its outbox had drained: all the work the round's requests caused. */
  readonly cpuDrainedMicros: number;
  /** CPU time of the service's own PostgreSQL backends per request, load and drain, µs. */
  readonly pgMicros: number;
  /** CPU time of the Kafka broker per request, load and drain, µs (shared with the neighbours). */
  readonly kafkaMicros: number;
  /** CPU time of the shared Redis per answered request, µs (includes whatever else used it meanwhile). */
  readonly redisMicros: number;
  /** CPU time of this process (the load generator) per request, during the load, µs. */
  readonly clientMicros: number;
  /** Requests answered per time the service's event loop woke from sleep, during the load. */
  readonly requestsPerWakeup: number;
  /** Times the service's main thread was preempted, per 1,000 requests, during the load. */
  readonly preemptionsPerThousand: number;
  /** The same for the load generator's event loop (this process). */
  readonly clientRequestsPerWakeup: number;
  /** Share of the machine's CPU time (all cores) that was busy during the load: below 1, the cores had idle time. */
  readonly busy: number;
  /** Of the service CPU to the drain: garbage collection (main thread pauses), µs per request. */
  readonly gcMicros: number;
  /** Audit records per outbox transaction of the EventPublisher's group commit. */
  readonly writesPerCommit: number;
  /** Outbox rows left when the load stopped (the relay's lag, drained before the next turn). */
  readonly backlog: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
  readonly firstFailure?: string;
}

function get(agent: Agent, url: URL, authorization: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: 'GET', headers: { authorization, 'user-agent': 'traceo-bench/1.0' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** utime + stime of a process, µs (Linux /proc; clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** used_cpu_sys + used_cpu_user of the Redis server, µs. */
async function redisCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1e6;
}

/**
 * How often the service's main thread (its event loop) went to sleep because it had nothing to do
 * (voluntary context switches): fewer per request means more requests handled per wake-up.
 */
function sleepsOf(pid: number): number {
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

/** How often the main thread was taken off a core while it still had work (involuntary context switches). */
function preemptionsOf(pid: number): number {
  return Number(/^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

/** Busy and total CPU time of the whole machine, in clock ticks (/proc/stat); idle and iowait are not busy. */
function machineCpu(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** CPU time of the Kafka broker (the JVM running kafka.Kafka), µs; NaN when it is not a local process. */
function kafkaCpuMicros(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kafka.Kafka')) return cpuMicros(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return NaN;
}

/** CPU time of each PostgreSQL backend serving the process's connections, µs, by backend pid (ports from /proc, pids from pg_stat_activity). */
async function postgresCpuMicros(client: Client, pid: number, postgresPort: number): Promise<Map<number, number>> {
  const ports = localTcpPorts([pid], postgresPort);
  const { rows } = await client.query<{ pid: number; port: number }>(
    'SELECT pid, client_port AS port FROM pg_stat_activity WHERE client_port = ANY($1::int[])',
    [[...ports]],
  );
  const perBackend = new Map<number, number>();
  for (const row of rows) {
    try {
      perBackend.set(row.pid, cpuMicros(row.pid));
    } catch {
      /* the backend exited meanwhile */
    }
  }
  return perBackend;
}

/**
 * From the service's /metrics: the group-commit counters (transactions and the callers they carried)
 * and the time spent in garbage collection (prom-client's default metrics, all kinds), µs.
 */
async function scrape(metricsUrl: URL): Promise<{ transactions: number; writes: number; gcMicros: number }> {
  const agent = new Agent({ keepAlive: false });
  try {
    const { body } = await get(agent, metricsUrl, '');
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(body)?.[1] ?? NaN);
    let gcSeconds = 0;
    for (const match of body.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/gm)) gcSeconds += Number(match[1]);
    return {
      transactions: value('traceo_event_publisher_group_commits_total'),
      writes: value('traceo_event_publisher_group_commit_writes_total'),
      gcMicros: gcSeconds * 1e6,
    };
  } finally {
    agent.destroy();
  }
}

interface Load {
  readonly answered: number;
  readonly seconds: number;
  readonly latencies: readonly number[];
  readonly failures: number;
  readonly firstFailure?: string;
}

/** `CONCURRENCY` clients, each sending its next request when the previous one is answered, API keys round-robin. */
async function load(url: URL, keys: readonly string[], seconds: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const client = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const reply = await get(agent, url, `Bearer ${keys[next++ % keys.length]!}`);
      latencies.push(performance.now() - sent);
      if (reply.status !== 200) {
        failures += 1;
        firstFailure ??= `${reply.status} ${reply.body.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { answered: latencies.length, seconds: elapsed, latencies, failures, ...(firstFailure ? { firstFailure } : {}) };
}

async function outboxRows(client: Client, schema: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".outbox`);
  return rows[0]!.n;
}

/**
 * Waits until the relay has published every audit record the last round wrote, so its Kafka and
 * PostgreSQL work is not done during (and charged to) the next variant's round.
 */
async function drained(client: Client, schema: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    if ((await outboxRows(client, schema)) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      return;
    }
  }
  throw new Error(`the outbox of ${schema} did not drain within 60 s`);
}

interface Service {
  readonly variant: Variant;
  readonly process: RunningProcess;
  /** The limited route, and the same route under @SkipRateLimit(). */
  readonly url: URL;
  readonly freeUrl: URL;
  readonly metricsUrl: URL;
  readonly schema: string;
  readonly pid: number;
}

interface Probes {
  readonly pg: Client;
  readonly postgresPort: number;
  readonly redis: Redis;
}

/**
 * One turn on one service: the load, then the drain of its outbox. The CPU figures other than
 * `cpuMicros` run to the end of the drain, so work a variant's requests leave behind (the relay's lag)
 * is charged to that variant and not hidden between the turns.
 */
async function turn(service: Service, url: URL, keys: readonly string[], seconds: number, probes: Probes): Promise<Round> {
  const { pid, schema } = service;
  const commitsBefore = await scrape(service.metricsUrl);
  const pgBefore = await postgresCpuMicros(probes.pg, pid, probes.postgresPort);
  const kafkaBefore = kafkaCpuMicros();
  const redisBefore = await redisCpuMicros(probes.redis);
  const machineBefore = machineCpu();
  const clientBefore = process.cpuUsage();
  const sleepsBefore = sleepsOf(pid);
  const preemptionsBefore = preemptionsOf(pid);
  const clientSleepsBefore = sleepsOf(process.pid);
  const cpuBefore = cpuMicros(pid);
  const result = await load(url, keys, seconds);
  const cpuLoaded = cpuMicros(pid);
  const sleeps = sleepsOf(pid) - sleepsBefore;
  const preemptions = preemptionsOf(pid) - preemptionsBefore;
  const clientSleeps = sleepsOf(process.pid) - clientSleepsBefore;
  const client = process.cpuUsage(clientBefore);
  const machineAfter = machineCpu();
  const redisCpu = (await redisCpuMicros(probes.redis)) - redisBefore;
  const backlog = await outboxRows(probes.pg, schema);
  await drained(probes.pg, schema);
  const cpuDrained = cpuMicros(pid);
  let pgCpu = 0;
  // A backend opened during the turn counts from its start.
  for (const [backend, cpu] of await postgresCpuMicros(probes.pg, pid, probes.postgresPort)) pgCpu += cpu - (pgBefore.get(backend) ?? 0);
  const kafkaCpu = kafkaCpuMicros() - kafkaBefore;
  const commitsAfter = await scrape(service.metricsUrl);
  const n = result.answered;
  return {
    perSecond: n / result.seconds,
    cpuMicros: (cpuLoaded - cpuBefore) / n,
    cpuDrainedMicros: (cpuDrained - cpuBefore) / n,
    pgMicros: pgCpu / n,
    kafkaMicros: kafkaCpu / n,
    redisMicros: redisCpu / n,
    clientMicros: (client.user + client.system) / n,
    requestsPerWakeup: n / sleeps,
    preemptionsPerThousand: (preemptions / n) * 1000,
    clientRequestsPerWakeup: n / clientSleeps,
    busy: (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    gcMicros: (commitsAfter.gcMicros - commitsBefore.gcMicros) / n,
    writesPerCommit: (commitsAfter.writes - commitsBefore.writes) / (commitsAfter.transactions - commitsBefore.transactions),
    backlog,
    p50: percentile(result.latencies, 0.5),
    p99: percentile(result.latencies, 0.99),
    failures: result.failures,
    ...(result.firstFailure ? { firstFailure: result.firstFailure } : {}),
  };
}

async function bench(): Promise<void> {
  const infra = loadInfraEnv();
  const run = randomBytes(3).toString('hex');
  const keys = Array.from({ length: CLIENTS }, () => randomBytes(24).toString('hex'));
  // Far above the offered load, so every request is admitted (counted in every window, the expensive path).
  const rules = JSON.stringify({
    rules: [{ name: 'default', limit: [1_000_000, 60_000_000], window_size: [1, 60], failure_mode: 'open' }],
  });
  const common = {
    TRACEO_DATABASE_URL: infra.databaseUrl,
    TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TRACEO_KAFKA_NAMESPACE: benchNamespace(run),
    TRACEO_API_KEYS: keys.map((key, i) => `bench-${i}:${key}`).join(','),
    TRACEO_LOG_LEVEL: 'warn',
    TRACEO_RATE_LIMIT_RULES: rules,
    TRACEO_RATE_LIMIT_IDENTIFIER_KEY: randomBytes(32).toString('base64'),
    BENCH_GUARD_ROLE: 'service',
  };
  const all: Record<string, Variant> = {
    off: { name: 'guard off (TRACEO_RATE_LIMIT_ENABLED=false)', env: { TRACEO_RATE_LIMIT_ENABLED: 'false' } },
    // Control: the same configuration in a second process. How far it lands from `off` is what the
    // processes themselves differ by (placement, JIT, heap), not the guard.
    'off-2': { name: 'guard off, second process (control)', env: { TRACEO_RATE_LIMIT_ENABLED: 'false' } },
    redis: { name: 'guard on, counters in Redis', env: { TRACEO_REDIS_URL: infra.redisUrl } },
    memory: { name: 'guard on, in-memory store', env: {} },
    // Opt-in and approximate across instances (TRACEO_RATE_LIMIT_SYNC_MS): no round trip per request.
    synced: { name: 'guard on, Redis synced every 100 ms', env: { TRACEO_REDIS_URL: infra.redisUrl, TRACEO_RATE_LIMIT_SYNC_MS: '100' } },
  };
  const chosen = (args.get('variants') ?? 'off,redis,memory,synced').split(',');
  if (chosen[0] !== 'off' || chosen.some((id) => all[id] === undefined))
    throw new Error(`--variants: a comma-separated list starting with off, of ${Object.keys(all).join(', ')}`);
  const variants = chosen.map((id) => all[id]!);
  const started: Service[] = [];
  const redis = createRateLimitRedis(infra.redisUrl, { commandTimeout: 5000 });
  const pg = new PgClient({ connectionString: infra.databaseUrl });
  await pg.connect();
  const probes: Probes = { pg, redis, postgresPort: Number(new URL(infra.databaseUrl).port || 5432) };
  try {
    for (const [i, variant] of variants.entries()) {
      const port = await freePort();
      const schema = `bench_rl_http_${i}_${run}`;
      const child = startTsProcess(__filename, {
        ...common,
        ...variant.env,
        TRACEO_HTTP_PORT: String(port),
        TRACEO_DATABASE_SCHEMA: schema,
        TRACEO_KAFKA_CONSUMER_GROUP: `bench-rate-limit-http-${i}-${run}`,
      });
      started.push({
        variant,
        process: child,
        url: new URL(`http://127.0.0.1:${port}/v1/bench/ping`),
        freeUrl: new URL(`http://127.0.0.1:${port}/v1/bench/free`),
        metricsUrl: new URL(`http://127.0.0.1:${port}/metrics`),
        schema,
        pid: child.child.pid!,
      });
      await child.ready;
    }
    const line = (text = '') => process.stdout.write(`${text}\n`);
    line(`Node ${process.versions.node}, ${new Date().toISOString()}, ${CONCURRENCY} concurrent clients, ${CLIENTS} API keys`);
    line(`${ROUNDS} rounds of ${SECONDS} s per variant (order rotated each round) after ${WARMUP} s of warm-up each`);
    line(
      `load average at start: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
    for (const service of started) {
      await turn(service, service.url, keys, WARMUP, probes);
      await turn(service, service.freeUrl, keys, WARMUP, probes);
    }

    const rounds = new Map<string, Round[]>(variants.map((variant) => [variant.name, []]));
    const freeRounds = new Map<string, Round[]>(variants.map((variant) => [variant.name, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      // Rotated, and reversed every other round, so no variant always follows the same one.
      const rotated = started.map((_, i) => started[(i + round) % started.length]!);
      const order = Math.floor(round / started.length) % 2 === 1 ? rotated.reverse() : rotated;
      const results: string[] = [];
      for (const service of order) {
        // The limited route and the exempt one back to back, in alternating order.
        const free = round % 2 === 0 ? [false, true] : [true, false];
        const { name } = service.variant;
        const short = `${name.split(/ \(|,/)[0]}${name.includes('control') ? ' 2' : name.includes(',') ? ` ${name.split(', ')[1]!.split(' ')[0]}` : ''}`;
        const pair: string[] = [];
        for (const exempt of free) {
          const result = await turn(service, exempt ? service.freeUrl : service.url, keys, SECONDS, probes);
          (exempt ? freeRounds : rounds).get(name)!.push(result);
          if (result.failures > 0) throw new Error(`${name}: ${result.failures} answers were not 200, e.g. ${result.firstFailure}`);
          pair.push(
            `${exempt ? 'exempt' : 'limited'} ${Math.round(result.perSecond)}/s ${Math.round(ownCpu(result))} µs ${result.writesPerCommit.toFixed(0)}/commit`,
          );
        }
        results.push(`${short}: ${pair.join(', ')}`);
      }
      line(`  round ${round + 1}: ${results.join('; ')}`);
    }
    line(
      `load average at end: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
    if (args.has('json'))
      writeFileSync(
        args.get('json')!,
        JSON.stringify({ limited: Object.fromEntries(rounds), exempt: Object.fromEntries(freeRounds) }, null, 1),
      );
    report(variants, rounds, freeRounds, line);
  } finally {
    redis.disconnect();
    for (const { process: child } of started) await child.stop('SIGTERM');
    for (const { schema } of started) await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
    await dropBenchTopics(benchNamespace(run));
  }
}

/** Service CPU (to the end of the drain) + its PostgreSQL backends + Redis, per request, µs: what the request costs this machine. */
function ownCpu(round: Round): number {
  return round.cpuDrainedMicros + round.pgMicros + round.redisMicros;
}

function report(
  variants: readonly Variant[],
  rounds: ReadonlyMap<string, readonly Round[]>,
  freeRounds: ReadonlyMap<string, readonly Round[]>,
  line: (text?: string) => void,
): void {
  const off = rounds.get(variants[0]!.name)!;
  /** Median over rounds of `of(variant) / of(off) - 1`, each pair measured in the same round. */
  const paired = (name: string, of: (round: Round) => number) => median(rounds.get(name)!.map((sample, i) => of(sample) / of(off[i]!) - 1));
  const mid = (name: string, of: (round: Round) => number) => median(rounds.get(name)!.map(of));
  const micros = (value: number) => `${Math.round(value)} µs`;
  const percent = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} %`;
  const table = (header: readonly string[], rows: readonly (readonly string[])[]) => {
    line(`| ${header.join(' | ')} |`);
    line(`| ${header.map((cell, i) => (i === 0 ? '-'.repeat(cell.length) : `${'-'.repeat(cell.length - 1)}:`)).join(' | ')} |`);
    for (const row of rows)
      line(`| ${row.map((cell, i) => (i === 0 ? cell.padEnd(header[i]!.length) : cell.padStart(header[i]!.length))).join(' | ')} |`);
  };
  line();
  table(
    [
      'variant                                    ',
      '  req/s',
      'p50 ms',
      'p99 ms',
      'audit records per commit',
      'outbox left at end',
      'requests per event-loop wake-up',
      'machine busy',
      'load generator CPU per request',
    ],
    variants.map(({ name }) => [
      name,
      Math.round(mid(name, (r) => r.perSecond)).toLocaleString('en-US'),
      mid(name, (r) => r.p50).toFixed(2),
      mid(name, (r) => r.p99).toFixed(2),
      mid(name, (r) => r.writesPerCommit).toFixed(1),
      String(Math.round(mid(name, (r) => r.backlog))),
      mid(name, (r) => r.requestsPerWakeup).toFixed(1),
      `${(mid(name, (r) => r.busy) * 100).toFixed(0)} %`,
      micros(mid(name, (r) => r.clientMicros)),
    ]),
  );
  line();
  line('CPU per request (medians over rounds; "to drain" runs until the outbox is empty, so the relay\'s work is in it):');
  table(
    [
      'variant                                    ',
      'service, load only',
      'service, to drain',
      'of which GC',
      'its PostgreSQL',
      'Redis',
      'own total',
      'Kafka (shared)',
    ],
    variants.map(({ name }) => [
      name,
      micros(mid(name, (r) => r.cpuMicros)),
      micros(mid(name, (r) => r.cpuDrainedMicros)),
      micros(mid(name, (r) => r.gcMicros)),
      micros(mid(name, (r) => r.pgMicros)),
      `${mid(name, (r) => r.redisMicros).toFixed(1)} µs`,
      micros(mid(name, ownCpu)),
      micros(mid(name, (r) => r.kafkaMicros)),
    ]),
  );
  line();
  line("Against guard off, paired by round (median of each round's ratio):");
  table(
    [
      'variant                                    ',
      'throughput loss',
      'own CPU per request',
      'service CPU to drain',
      'service CPU, load only',
    ],
    variants
      .slice(1)
      .map(({ name }) => [
        name,
        percent(-paired(name, (r) => r.perSecond)),
        percent(paired(name, ownCpu)),
        percent(paired(name, (r) => r.cpuDrainedMicros)),
        percent(paired(name, (r) => r.cpuMicros)),
      ]),
  );
  line();
  line('The limited route against the same route under @SkipRateLimit() in the same process, paired by round (adjacent turns):');
  /** Median over rounds of `of(limited) / of(exempt) - 1` within one process. */
  const inProcess = (name: string, of: (round: Round) => number) =>
    median(rounds.get(name)!.map((sample, i) => of(sample) / of(freeRounds.get(name)![i]!) - 1));
  const pairsBelow = (name: string) =>
    rounds.get(name)!.filter((sample, i) => sample.perSecond < freeRounds.get(name)![i]!.perSecond).length;
  const added = (name: string, of: (round: Round) => number) =>
    micros(median(rounds.get(name)!.map((sample, i) => of(sample) - of(freeRounds.get(name)![i]!))));
  const both = (name: string, of: (round: Round) => number, digits: number) =>
    `${mid(name, of).toFixed(digits)} vs ${median(freeRounds.get(name)!.map(of)).toFixed(digits)}`;
  table(
    [
      'variant                                    ',
      'throughput loss',
      'rounds slower',
      'own CPU per request',
      'own CPU added',
      'service',
      'PostgreSQL',
      'Redis',
      'load generator',
      'audit records per commit',
      'requests per wake-up',
      'load generator: per wake-up',
      'service preempted per 1k requests',
    ],
    variants.map(({ name }) => [
      name,
      percent(-inProcess(name, (r) => r.perSecond)),
      `${pairsBelow(name)} of ${rounds.get(name)!.length}`,
      percent(inProcess(name, ownCpu)),
      added(name, ownCpu),
      added(name, (r) => r.cpuDrainedMicros),
      added(name, (r) => r.pgMicros),
      added(name, (r) => r.redisMicros),
      added(name, (r) => r.clientMicros),
      both(name, (r) => r.writesPerCommit, 0),
      both(name, (r) => r.requestsPerWakeup, 1),
      both(name, (r) => r.clientRequestsPerWakeup, 1),
      both(name, (r) => r.preemptionsPerThousand, 0),
    ]),
  );
  line('(guard off: both routes are the same code path, so its row is the noise floor)');
  line('target ≤ 10 % loss; Kong reports -12 % for its rate-limiting plugin');
}

if (process.env.BENCH_GUARD_ROLE === 'service') {
  serve().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
} else {
  bench().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
