import { randomBytes } from 'node:crypto';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { RATE_LIMIT_SCRIPTS, type LuaScript } from './redis-scripts';
import type { LimitOutcome, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';

export const DEFAULT_REDIS_KEY_PREFIX = 'traceo:rl:';

export interface RedisStoreOptions {
  /** A standalone or cluster client; `createRateLimitRedis` makes one with fail-fast settings. */
  readonly client: Redis | Cluster;
  /** Prepended to every key (outside the hash tag). */
  readonly prefix?: string;
}

/**
 * Counters in Redis, shared by every gateway instance. Each decision is one Lua script (atomic, one
 * round trip): EVALSHA, and on NOSCRIPT (script cache flushed, failover to a replica that never saw
 * it) EVAL, which runs and caches it again. Keys are `<prefix>{<rule>:<algorithm>:<identifier hash>}`;
 * the braces are a Redis Cluster hash tag, so whatever keys one decision ever touches share a slot.
 * Errors (connection refused, timeouts) propagate: the limiter applies the rule's failure mode.
 */
export class RedisStore implements RateLimitStore {
  readonly kind = 'redis';
  private readonly client: Redis | Cluster;
  private readonly prefix: string;
  // Sliding-log members must be unique across instances and requests.
  private readonly instance = `${randomBytes(6).toString('base64url')}.`;
  private sequence = 0;

  constructor(options: RedisStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_REDIS_KEY_PREFIX;
  }

  /** The Redis key of a store key (for tests and operators; holds no raw identifier). */
  keyOf(storeKey: string): string {
    return `${this.prefix}{${storeKey}}`;
  }

  async decide(request: StoreRequest): Promise<StoreVerdict> {
    const args: (string | number)[] =
      request.algorithm === 'sliding-log' ? [this.nextMember(), request.limits.length] : [request.limits.length];
    for (const { limit, windowMs } of request.limits) args.push(limit, Math.round(windowMs * 1000));
    const reply = await this.run(RATE_LIMIT_SCRIPTS[request.algorithm], this.keyOf(request.key), args);
    return parseReply(reply, request.limits.length);
  }

  private async run(script: LuaScript, key: string, args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script.lua, 1, key, ...args);
    }
  }

  private nextMember(): string {
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    return this.instance + this.sequence.toString(36);
  }
}

function parseReply(reply: unknown, limits: number): StoreVerdict {
  if (!Array.isArray(reply) || reply.length !== 2 + 3 * limits || !reply.every((value) => typeof value === 'number')) {
    throw new Error('unexpected reply from the rate-limit script');
  }
  const values: number[] = reply;
  const outcomes: LimitOutcome[] = [];
  for (let i = 2; i < values.length; i += 3) {
    outcomes.push({ remaining: values[i]!, resetMs: values[i + 1]! / 1000, retryMs: values[i + 2]! / 1000 });
  }
  return { allowed: values[1] === 1, nowMs: values[0]! / 1000, limits: outcomes };
}

/**
 * A client for rate limiting: a decision must never wait for Redis to come back. No offline queue (a
 * command while disconnected fails at once), no retries of a sent command, a short command timeout,
 * auto-pipelining (concurrent decisions share a write), and reconnection in the background.
 */
export function createRateLimitRedis(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 250,
    connectTimeout: 1000,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    ...overrides,
  });
}
