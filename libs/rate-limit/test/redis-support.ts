import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
// Test-only: a util lib's integration specs read the infrastructure settings through the shared
// helper rather than duplicating where tools/infra writes them.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { freePort, loadInfraEnv } from '@traceo/testing';
// eslint-disable-next-line @nx/enforce-module-boundaries
export { OwnRedisCluster } from '@traceo/testing';
import type { Redis } from 'ioredis';
import { createRateLimitRedis } from '../src';

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
