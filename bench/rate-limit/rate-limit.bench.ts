// bench/rate-limit — decisions per second of libs/rate-limit: in memory (store alone and the whole
// RateLimiter.check), RateLimiter.check on the opt-in approximate SyncedStore (local decisions, counts
// synced with Redis every 100 ms), and against the shared Redis of tools/infra with concurrent callers on
// auto-pipelined connections, beside a plain ZSET sliding-log script as the baseline, measured in the
// same run with the same keys, limits, connections and concurrency. The development machines are
// shared and small, so throughput swings with whatever else runs: the Redis workloads take turns in
// short rounds and each reports its median round, and each is also run against a private
// redis-server to report the server CPU time one decision costs, which does not depend on the
// neighbours. Not a test: nothing is asserted.
//
//   npm run bench:rate-limit -- [--seconds 7] [--rounds 7] [--keys 10000] [--connections 4] [--concurrency 512] [--cpu-decisions 100000]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import {
  ALGORITHMS,
  createRateLimitRedis,
  MemoryStore,
  RateLimiter,
  RedisStore,
  SyncedStore,
  type Algorithm,
  type RateLimitRequest,
  type RateLimitStore,
  type StoreRequest,
} from '@traceo/rate-limit';
import { loadInfraEnv } from '@traceo/testing';
import type { Redis } from 'ioredis';

const args = new Map(process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1] ?? '']] : [])));
const SECONDS = Number(args.get('seconds') ?? 7);
const KEYS = Number(args.get('keys') ?? 10_000);
const CONNECTIONS = Number(args.get('connections') ?? 4);
const CONCURRENCY = Number(args.get('concurrency') ?? 512);
const CPU_DECISIONS = Number(args.get('cpu-decisions') ?? 100_000);
const ROUNDS = Number(args.get('rounds') ?? 7);
// Large enough that most decisions admit (the expensive path: counters and logs are written).
const LIMITS = [
  { limit: 1_000, windowMs: 60_000 },
  { limit: 10_000, windowMs: 3_600_000 },
];

const PLAIN_SLIDING_LOG = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 1
end
return 0
`;

interface Row {
  readonly measurement: string;
  readonly perSecond: number;
  /** Decisions per second of this process's CPU time (all its threads, GC included): less at the neighbours' mercy than wall time. */
  readonly perCpuSecond?: number;
  readonly note: string;
  /** Server CPU microseconds per decision, on a private redis-server. */
  readonly cpuMicros?: number;
}

/** One Redis workload: a decision function over connections, keys and a prefix. */
interface Workload {
  readonly name: string;
  readonly prepare: (clients: Redis[], prefix: string) => Promise<(worker: number, n: number) => unknown>;
}

function timeSync(work: () => void, seconds: number): { perSecond: number; perCpuSecond: number } {
  let done = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10_000; i += 1) work();
    done += 10_000;
  }
  return { perSecond: done / ((performance.now() - started) / 1000), perCpuSecond: done / cpuSeconds(cpu) };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
}

/** `concurrency` callers, each awaiting one decision at a time, until the time or the count runs out. */
async function timeAsync(
  decide: (worker: number, n: number) => unknown,
  seconds: number,
  concurrency: number,
  count = Infinity,
): Promise<number> {
  let done = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let n = worker; n < count && performance.now() < deadline; n += concurrency) {
        await decide(worker, n);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

function memoryStoreRow(algorithm: Algorithm): Row {
  const store = new MemoryStore({ maxKeys: KEYS * 2 });
  const requests: StoreRequest[] = Array.from({ length: KEYS }, (_, i) => ({ key: `k${i}`, algorithm, limits: LIMITS }));
  let n = 0;
  const timed = timeSync(() => store.decide(requests[n++ % KEYS]!), SECONDS);
  return { measurement: `memory, MemoryStore.decide, ${algorithm}`, ...timed, note: `${KEYS} identifiers, 2 limits` };
}

function requestsFor(count: number): RateLimitRequest[] {
  return Array.from({ length: count }, (_, i) => ({
    remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0', 'accept-language': 'en' },
    path: '/v1/things',
    consumer: { id: `consumer-${i}`, group: i % 10 === 0 ? 'premium' : 'standard' },
    riskScore: i % 100,
  }));
}

function limiterOn(store: RateLimitStore, algorithm: Algorithm): RateLimiter {
  return new RateLimiter({
    config: {
      rules: [
        {
          name: 'bench',
          algorithm,
          limit: LIMITS.map((limit) => limit.limit),
          window_size: LIMITS.map((limit) => limit.windowMs / 1000),
          failure_mode: 'open',
        },
      ],
    },
    store,
    identifierKey: randomBytes(32),
    cadence: false,
  });
}

/**
 * `RateLimiter.check` one decision after the other, used as the RateLimitGuard uses it: awaited only
 * when it returns a promise. The event loop turns after every 10,000 decisions, so timers (the synced
 * store's sync) run and are timed too.
 */
async function serialLimiterRow(store: RateLimitStore, measurement: string): Promise<Row> {
  const limiter = limiterOn(store, 'sliding-window');
  const requests = requestsFor(KEYS);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let done = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10_000; i += 1) {
      const decision = limiter.check('bench', requests[(done + i) % KEYS]!);
      if (decision instanceof Promise) await decision;
    }
    done += 10_000;
    await new Promise(setImmediate);
  }
  const perSecond = done / ((performance.now() - started) / 1000);
  return { measurement, perSecond, perCpuSecond: done / cpuSeconds(cpu), note: `${KEYS} consumers, 2 limits` };
}

async function connect(url: string): Promise<Redis[]> {
  const clients = Array.from({ length: CONNECTIONS }, () => createRateLimitRedis(url, { commandTimeout: 10_000 }));
  await Promise.all(clients.map((client) => once(client, 'ready')));
  return clients;
}

async function deleteByPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A redis-server of our own (same binary as tools/infra, no persistence), for CPU accounting. */
async function startPrivateRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt += 1) {
    const client = createRateLimitRedis(url, { lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => undefined);
    const up = await client.connect().then(
      () => true,
      () => false,
    );
    client.disconnect();
    if (up) break;
    if (attempt > 100) throw new Error('private redis-server did not start');
    await sleep(50);
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function usedCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const value = (name: string) => Number(/\r?\n?used_cpu_\w+:([\d.]+)/.exec(info.slice(info.indexOf(name)))?.[1]);
  return value('used_cpu_sys:') + value('used_cpu_user:');
}

function redisWorkloads(): Workload[] {
  const workloads: Workload[] = [
    {
      name: 'plain ZSET sliding-log script, 1 limit (baseline)',
      prepare: async (clients, prefix) => {
        const sha = (await clients[0]!.script('LOAD', PLAIN_SLIDING_LOG)) as string;
        let member = 0;
        return (worker, n) =>
          clients[worker % CONNECTIONS]!.evalsha(sha, 1, `${prefix}plain:{k${n % KEYS}}`, 60_000, 1_000, `m${(member += 1)}`);
      },
    },
  ];
  for (const algorithm of ['sliding-log', 'sliding-window'] as const) {
    for (const limits of [LIMITS.slice(0, 1), LIMITS]) {
      workloads.push({
        name: `RedisStore.decide, ${algorithm}, ${limits.length} limit${limits.length > 1 ? 's' : ''}`,
        prepare: (clients, prefix) => {
          const stores = clients.map((client) => new RedisStore({ client, prefix: `${prefix}store:` }));
          const label = `${algorithm}:${limits.length}`;
          return Promise.resolve((worker, n) => stores[worker % CONNECTIONS]!.decide({ key: `${label}:k${n % KEYS}`, algorithm, limits }));
        },
      });
    }
  }
  workloads.push({
    name: 'RateLimiter.check, sliding-window, 2 limits',
    prepare: (clients, prefix) => {
      const limiters = clients.map((client) => limiterOn(new RedisStore({ client, prefix: `${prefix}limiter:` }), 'sliding-window'));
      const requests = requestsFor(KEYS);
      return Promise.resolve((worker, n) => limiters[worker % CONNECTIONS]!.check('bench', requests[n % KEYS]!));
    },
  });
  return workloads;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const algorithm of ALGORITHMS) rows.push(memoryStoreRow(algorithm));
  rows.push(
    await serialLimiterRow(
      new MemoryStore({ maxKeys: KEYS * 2 }),
      'memory, RateLimiter.check (identifier, HMAC cache, bot, tier, risk, headers), sliding-window',
    ),
  );

  const prefix = `bench:rl:${randomBytes(4).toString('hex')}:`;
  const shared = await connect(loadInfraEnv().redisUrl);
  // Opt-in, approximate across instances: decided in this process, counts synced with Redis every 100 ms.
  const synced = new SyncedStore({ client: shared[0]!, prefix: `${prefix}synced:`, syncIntervalMs: 100 });
  rows.push(await serialLimiterRow(synced, 'Redis synced every 100 ms (approximate), RateLimiter.check, sliding-window'));
  await synced.close();
  const privateServer = await startPrivateRedis();
  const isolated = await connect(privateServer.url);
  const redisNote = `${KEYS} keys, ${CONNECTIONS} connections, ${CONCURRENCY} concurrent callers`;
  try {
    const workloads = redisWorkloads();
    const onShared = await Promise.all(workloads.map((workload) => workload.prepare(shared, prefix)));
    const rounds = workloads.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (let i = 0; i < workloads.length; i += 1) rounds[i]!.push(await timeAsync(onShared[i]!, SECONDS / ROUNDS, CONCURRENCY));
    }
    for (let i = 0; i < workloads.length; i += 1) {
      const decide = await workloads[i]!.prepare(isolated, prefix);
      const before = await usedCpuSeconds(isolated[0]!);
      await timeAsync(decide, Infinity, CONCURRENCY, CPU_DECISIONS);
      const cpuMicros = (((await usedCpuSeconds(isolated[0]!)) - before) * 1e6) / CPU_DECISIONS;
      const sorted = rounds[i]!.sort((a, b) => a - b);
      rows.push({
        measurement: `Redis, ${workloads[i]!.name}`,
        perSecond: sorted[Math.floor(sorted.length / 2)]!,
        note: redisNote,
        cpuMicros,
      });
    }
  } finally {
    await deleteByPrefix(shared[0]!, prefix);
    await Promise.all([...shared, ...isolated].map((client) => client.quit()));
    await privateServer.stop();
  }

  console.log(
    `\nbench/rate-limit on ${process.version}, ${new Date().toISOString()}: ${SECONDS} s per measurement (Redis: median of ${ROUNDS} interleaved rounds)\n`,
  );
  console.log('| measurement | decisions/s | per CPU-second of this process | Redis CPU per decision | setup |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const row of rows) {
    const cpu = row.cpuMicros === undefined ? '' : `${row.cpuMicros.toFixed(1)} µs`;
    const perCpu = row.perCpuSecond === undefined ? '' : Math.round(row.perCpuSecond).toLocaleString('en-US');
    console.log(`| ${row.measurement} | ${Math.round(row.perSecond).toLocaleString('en-US')} | ${perCpu} | ${cpu} | ${row.note} |`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
