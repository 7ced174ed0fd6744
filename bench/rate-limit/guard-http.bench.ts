// bench/rate-limit/guard-http — HTTP throughput of a minimal service on the full ServiceKit stack
// (startService: config, PostgreSQL schema and outbox relay, Kafka, the AuthGuard with API keys, the
// HTTP audit middleware writing one audit record per call to the outbox, problem+json, pino) with the
// RateLimitGuard on (counters in the shared Redis of tools/infra, exact per request; in memory; and the
// opt-in approximate mode that decides locally and syncs with Redis every 100 ms) and off
// (TRACEO_RATE_LIMIT_ENABLED=false). Each variant is its own Node process, started once; the load
// generator (closed loop, keep-alive node:http) takes turns on them in short rounds, rotating the
// order, waiting after each turn until that service's outbox is drained, and each variant reports its median round, so drift on the shared 2-core machine hits all
// of them alike. The loss is also taken per round (each variant against the guard-off run of the
// same round, minutes apart at most) and reported as the median of those paired losses, which is
// steadier than the ratio of medians when the neighbours' load swings between rounds. The service
// process's CPU time per request does not depend on the neighbours at all. The limits are set far above the offered load: every request is admitted and
// counted, the guard's expensive path. Not a test: nothing is asserted beyond every answer being 200.
//
//   npm run bench:rate-limit:http -- [--seconds 3] [--rounds 15] [--warmup 3] [--concurrency 32] [--clients 16]
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Controller, Get, Module } from '@nestjs/common';
import { RequirePermissions } from '@traceo/security';
import { baseConfigSchema, ServiceKitModule, startService, type ServiceRuntime } from '@traceo/service-kit';
import { createRateLimitRedis } from '@traceo/rate-limit';
import { loadInfraEnv, startTsProcess, withClient, type RunningProcess } from '@traceo/testing';
import type { Redis } from 'ioredis';

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
  /** CPU time of the service process per answered request, µs (does not depend on the neighbours' load). */
  readonly cpuMicros: number;
  /** CPU time of the shared Redis per answered request, µs (includes whatever else used it meanwhile). */
  readonly redisMicros: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
  readonly firstFailure?: string;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
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

/** `CONCURRENCY` clients, each sending its next request when the previous one is answered, API keys round-robin. */
async function load(url: URL, keys: readonly string[], seconds: number, pid: number, redis: Redis): Promise<Round> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const cpuBefore = cpuMicros(pid);
  const redisBefore = await redisCpuMicros(redis);
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
  const cpu = cpuMicros(pid) - cpuBefore;
  const redisCpu = (await redisCpuMicros(redis)) - redisBefore;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / elapsed,
    cpuMicros: cpu / latencies.length,
    redisMicros: redisCpu / latencies.length,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
    ...(firstFailure ? { firstFailure } : {}),
  };
}

/**
 * Waits until the relay has published every audit record the last round wrote, so its Kafka and
 * PostgreSQL work is not done during (and charged to) the next variant's round.
 */
async function drained(databaseUrl: string, schema: string): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".outbox`);
      if (rows[0]!.n === 0) return;
    }
    throw new Error(`the outbox of ${schema} did not drain within 60 s`);
  });
  await new Promise((resolve) => setTimeout(resolve, 250));
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
    TRACEO_API_KEYS: keys.map((key, i) => `bench-${i}:${key}`).join(','),
    TRACEO_LOG_LEVEL: 'warn',
    TRACEO_RATE_LIMIT_RULES: rules,
    TRACEO_RATE_LIMIT_IDENTIFIER_KEY: randomBytes(32).toString('base64'),
    BENCH_GUARD_ROLE: 'service',
  };
  const variants: Variant[] = [
    { name: 'guard off (TRACEO_RATE_LIMIT_ENABLED=false)', env: { TRACEO_RATE_LIMIT_ENABLED: 'false' } },
    { name: 'guard on, counters in Redis', env: { TRACEO_REDIS_URL: infra.redisUrl } },
    { name: 'guard on, in-memory store', env: {} },
    // Opt-in and approximate across instances (TRACEO_RATE_LIMIT_SYNC_MS): no round trip per request.
    { name: 'guard on, Redis synced every 100 ms', env: { TRACEO_REDIS_URL: infra.redisUrl, TRACEO_RATE_LIMIT_SYNC_MS: '100' } },
  ];
  const started: { variant: Variant; process: RunningProcess; url: URL; schema: string; pid: number }[] = [];
  const redis = createRateLimitRedis(infra.redisUrl, { commandTimeout: 5000 });
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
      started.push({ variant, process: child, url: new URL(`http://127.0.0.1:${port}/v1/bench/ping`), schema, pid: child.child.pid! });
      await child.ready;
    }
    const line = (text = '') => process.stdout.write(`${text}\n`);
    line(`Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}, ${CONCURRENCY} concurrent clients, ${CLIENTS} API keys`);
    line(`${ROUNDS} rounds of ${SECONDS} s per variant (order rotated each round) after ${WARMUP} s of warm-up each`);
    for (const { url, pid, schema } of started) {
      await load(url, keys, WARMUP, pid, redis);
      await drained(infra.databaseUrl, schema);
    }

    const rounds = new Map<string, Round[]>(variants.map((variant) => [variant.name, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      // Rotated, and reversed every other round, so no variant always follows the same one.
      const rotated = started.map((_, i) => started[(i + round) % started.length]!);
      const order = Math.floor(round / started.length) % 2 === 1 ? rotated.reverse() : rotated;
      const results: string[] = [];
      for (const { variant, url, pid, schema } of order) {
        const result = await load(url, keys, SECONDS, pid, redis);
        await drained(infra.databaseUrl, schema);
        rounds.get(variant.name)!.push(result);
        if (result.failures > 0) throw new Error(`${variant.name}: ${result.failures} answers were not 200, e.g. ${result.firstFailure}`);
        results.push(`${variant.name.split(' (')[0]} ${Math.round(result.perSecond)}/s`);
      }
      line(`  round ${round + 1}: ${results.join(', ')}`);
    }

    const summary = variants.map((variant) => {
      const samples = rounds.get(variant.name)!;
      return {
        name: variant.name,
        perSecond: median(samples.map((sample) => sample.perSecond)),
        p50: median(samples.map((sample) => sample.p50)),
        p99: median(samples.map((sample) => sample.p99)),
        cpuMicros: median(samples.map((sample) => sample.cpuMicros)),
        redisMicros: median(samples.map((sample) => sample.redisMicros)),
      };
    });
    const baseline = summary[0]!.perSecond;
    const off = rounds.get(variants[0]!.name)!;
    /** Median over rounds of 1 - variant/off, each pair measured in the same round. */
    const pairedLoss = (name: string) => median(rounds.get(name)!.map((sample, i) => 1 - sample.perSecond / off[i]!.perSecond));
    line();
    line(
      '| variant                                      |   req/s | p50 ms | p99 ms | service CPU per request | Redis CPU per request | throughput vs off |',
    );
    line(
      '| -------------------------------------------- | ------: | -----: | -----: | ----------------------: | --------------------: | ----------------: |',
    );
    for (const row of summary) {
      const change = row === summary[0] ? 'baseline' : `${(((row.perSecond - baseline) / baseline) * 100).toFixed(1)} %`;
      line(
        `| ${row.name.padEnd(44)} | ${Math.round(row.perSecond).toLocaleString('en-US').padStart(7)} | ${row.p50.toFixed(2).padStart(6)} | ${row.p99.toFixed(2).padStart(6)} | ${`${Math.round(row.cpuMicros)} µs`.padStart(23)} | ${`${row.redisMicros.toFixed(1)} µs`.padStart(21)} | ${change.padStart(17)} |`,
      );
    }
    line();
    for (const row of summary.slice(1)) {
      const ofMedians = ((baseline - row.perSecond) / baseline) * 100;
      const cpu = ((row.cpuMicros - summary[0]!.cpuMicros) / summary[0]!.cpuMicros) * 100;
      line(
        `loss with ${row.name}: ${(pairedLoss(row.name) * 100).toFixed(1)} % (median of paired rounds; ${ofMedians.toFixed(1)} % between medians; service CPU per request ${cpu >= 0 ? '+' : ''}${cpu.toFixed(1)} %)`,
      );
    }
    line('target ≤ 10 %; Kong reports -12 % for its rate-limiting plugin');
  } finally {
    redis.disconnect();
    for (const { process: child } of started) await child.stop('SIGTERM');
    await withClient(infra.databaseUrl, async (client) => {
      for (const { schema } of started) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  }
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
