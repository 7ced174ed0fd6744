import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// Test-only: a util lib's integration specs read the infrastructure settings through the shared
// helper rather than duplicating where tools/infra writes them.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { freePort, loadInfraEnv } from '@traceo/testing';
import type { Cluster, ClusterOptions, Redis } from 'ioredis';
import { createRateLimitCluster, createRateLimitRedis } from '../src';

/** A key prefix no other test (or engineer) uses. */
export function uniquePrefix(label: string): string {
  return `it:rl:${label}:${randomBytes(4).toString('hex')}:`;
}

/** A client on the shared Redis of tools/infra (127.0.0.1:63790), ready for commands. */
export async function sharedRedis(): Promise<Redis> {
  const client = createRateLimitRedis(loadInfraEnv().redisUrl, { commandTimeout: 5_000 });
  await once(client, 'ready');
  return client;
}

/** Deletes what a test wrote under its prefix. */
export async function deleteByPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * A throwaway redis-server (the Debian binary tools/infra also runs) on a free port, in the
 * foreground so this process owns it and can kill it; no persistence, so a restart starts empty.
 * Never the shared one on 63790, which other tests use.
 */
export class OwnRedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedisServer> {
    const server = new OwnRedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    if (this.child) throw new Error('already running');
    const child = spawn(
      process.env.TRACEO_REDIS_SERVER ?? 'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await this.answers())) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** SIGKILL: the server vanishes without a goodbye, like a crashed node. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }

  private async answers(): Promise<boolean> {
    const probe = createRateLimitRedis(this.url, { retryStrategy: () => null, lazyConnect: true });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }
}

/** The most admissions inside any half-open interval (t - windowMs, t] of a sorted list of times. */
export function maxInAnyWindow(admitted: readonly number[], windowMs: number): number {
  let best = 0;
  for (let end = 0, start = 0; end < admitted.length; end += 1) {
    while (admitted[start]! <= admitted[end]! - windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/**
 * A throwaway Redis Cluster: `masters` redis-servers in cluster mode (the Debian binary, no
 * persistence), each on a free port with its cluster bus on another, joined by `redis-cli --cluster
 * create` with the 16,384 slots split between them and no replicas. Waits until every node reports
 * `cluster_state:ok`. `cluster-require-full-coverage no`, as docs/rate-limiting.md recommends for
 * rate-limit clusters: the other masters keep answering for their slots while one is down.
 */
export class OwnRedisCluster {
  private constructor(
    readonly ports: readonly number[],
    private readonly children: readonly ChildProcess[],
    private readonly dir: string,
  ) {}

  static async start(masters = 3): Promise<OwnRedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
    const ports: number[] = [];
    const children: ChildProcess[] = [];
    const cluster = new OwnRedisCluster(ports, children, dir);
    try {
      for (let i = 0; i < masters; i += 1) {
        const [port, busPort] = [await freePort(), await freePort()];
        ports.push(port);
        children.push(
          spawn(
            process.env.TRACEO_REDIS_SERVER ?? 'redis-server',
            // prettier-ignore
            ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no',
              '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', `nodes-${port}.conf`,
              '--cluster-node-timeout', '2000', '--cluster-require-full-coverage', 'no', '--dir', dir],
            { stdio: 'ignore' },
          ),
        );
      }
      for (const port of ports) await waitUntil(() => answersPing(port), `redis-server ${port}`);
      const created = spawnSync(
        process.env.TRACEO_REDIS_CLI ?? 'redis-cli',
        ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
      for (const port of ports) await waitUntil(() => clusterStateOk(port), `cluster_state:ok on ${port}`);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** An ioredis Cluster client with the rate-limit client's fail-fast settings (createRateLimitCluster), ready for commands. */
  async client(overrides: ClusterOptions = {}): Promise<Cluster> {
    const client = createRateLimitCluster(
      this.ports.map((port) => ({ host: '127.0.0.1', port })),
      overrides,
    );
    await once(client, 'ready');
    return client;
  }

  /** SIGKILL for the master on `port`: it vanishes like a crashed node. */
  async kill(port: number): Promise<void> {
    const child = this.children[this.ports.indexOf(port)];
    if (child === undefined) throw new Error(`no node on port ${port}`);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGKILL');
        await once(child, 'exit');
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function withProbe<T>(port: number, use: (probe: Redis) => Promise<T>, otherwise: T): Promise<T> {
  const probe = createRateLimitRedis(`redis://127.0.0.1:${port}`, { retryStrategy: () => null, lazyConnect: true });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await use(probe);
  } catch {
    return otherwise;
  } finally {
    probe.disconnect();
  }
}

function answersPing(port: number): Promise<boolean> {
  return withProbe(port, async (probe) => (await probe.ping()) === 'PONG', false);
}

function clusterStateOk(port: number): Promise<boolean> {
  return withProbe(port, async (probe) => String(await probe.cluster('INFO')).includes('cluster_state:ok'), false);
}
