import { randomBytes } from 'node:crypto';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { RATE_LIMIT_SCRIPTS } from './redis-scripts';
import type { LimitOutcome, LimitSpec, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';

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
  private readonly limitArgs = new WeakMap<readonly LimitSpec[], readonly string[]>();

  constructor(options: RedisStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_REDIS_KEY_PREFIX;
  }

  /** The Redis key of a store key (for tests and operators; holds no raw identifier). */
  keyOf(storeKey: string): string {
    return `${this.prefix}{${storeKey}}`;
  }

  decide(request: StoreRequest): Promise<StoreVerdict> {
    const { algorithm, limits } = request;
    const script = RATE_LIMIT_SCRIPTS[algorithm];
    const key = this.keyOf(request.key);
    const limitArgs = this.limitArgs.get(limits) ?? this.encodeLimits(limits);
    const args = algorithm === 'sliding-log' ? [this.nextMember(), ...limitArgs] : limitArgs;
    return this.client.evalsha(script.sha, 1, key, ...args).then(
      (reply) => parseReply(reply, limits.length),
      (error: unknown) => {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return this.client.eval(script.lua, 1, key, ...args).then((reply) => parseReply(reply, limits.length));
      },
    );
  }

  /** `n, limit_1, window_1 (µs), …` as the scripts read them, encoded once per limits list (the limiter reuses its lists). */
  private encodeLimits(limits: readonly LimitSpec[]): readonly string[] {
    const args = [String(limits.length)];
    for (const { limit, windowMs } of limits) args.push(String(limit), String(Math.round(windowMs * 1000)));
    this.limitArgs.set(limits, args);
    return args;
  }

  private nextMember(): string {
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    return this.instance + this.sequence.toString(36);
  }
}

function parseReply(reply: unknown, limits: number): StoreVerdict {
  if (!Array.isArray(reply) || reply.length !== 2 + 3 * limits) throw new Error('unexpected reply from the rate-limit script');
  for (const value of reply as unknown[]) if (typeof value !== 'number') throw new Error('unexpected reply from the rate-limit script');
  const values = reply as number[];
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
