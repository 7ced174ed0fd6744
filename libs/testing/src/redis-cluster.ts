import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './free-port';

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

  /** The masters as ioredis takes seed nodes. */
  get nodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
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
  const probe = new Redis(port, '127.0.0.1', { retryStrategy: () => null, lazyConnect: true, maxRetriesPerRequest: 0 });
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
