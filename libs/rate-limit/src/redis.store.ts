import { randomBytes } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ALGORITHMS, type Algorithm } from './rate-limit.config';
import { RATE_LIMIT_BATCH_SCRIPTS, RATE_LIMIT_SCRIPTS, type LuaScript } from './redis-scripts';
import type { LimitOutcome, LimitSpec, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';

export const DEFAULT_REDIS_KEY_PREFIX = 'traceo:rl:';
/** Decisions sent in one script call at most (bounds the time Redis spends in one call). */
export const MAX_DECISIONS_PER_CALL = 64;

export interface RedisStoreOptions {
  /** A standalone or cluster client; `createRateLimitRedis` makes one with fail-fast settings. */
  readonly client: Redis | Cluster;
  /** Prepended to every key (outside the hash tag). */
  readonly prefix?: string;
}

/** A decision waiting for this turn's script call. */
interface Queued {
  readonly key: string;
  readonly args: readonly string[];
  readonly limits: number;
  readonly resolve: (verdict: StoreVerdict) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Counters in Redis, shared by every gateway instance. Each decision is a Lua script (atomic):
 * EVALSHA, and on NOSCRIPT (script cache flushed, failover to a replica that never saw it) EVAL, which
 * runs and caches it again. Decisions asked for in the same turn of the event loop (concurrent callers
 * resumed by one reply) go to a standalone Redis as one call of the batch script, each decided as if
 * alone and all atomic together; a lone decision, and every decision on a Cluster (whose keys would
 * span slots), is one call of its own. Keys are `<prefix>{<rule>:<algorithm>:<identifier hash>}`; the
 * braces are a Redis Cluster hash tag, so whatever keys one decision ever touches share a slot.
 * Errors (connection refused, timeouts) propagate: the limiter applies the rule's failure mode.
 */
export class RedisStore implements RateLimitStore {
  readonly kind = 'redis';
  private readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly batching: boolean;
  // Sliding-log members must be unique across instances and requests.
  private readonly instance = `${randomBytes(6).toString('base64url')}.`;
  private sequence = 0;
  private readonly limitArgs = new WeakMap<readonly LimitSpec[], readonly string[]>();
  private queues: Record<Algorithm, Queued[]> = { 'sliding-window': [], 'sliding-log': [], 'fixed-window': [] };
  private flushQueued = false;

  /** On a Cluster: the key's hash slot, so a master that is down pauses only its own slots (RateLimiter). */
  readonly partitionOf?: (key: string) => number;

  constructor(options: RedisStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_REDIS_KEY_PREFIX;
    this.batching = !options.client.isCluster;
    if (options.client.isCluster) this.partitionOf = (key) => calculateSlot(this.keyOf(key));
  }

  /** The Redis key of a store key (for tests and operators; holds no raw identifier). */
  keyOf(storeKey: string): string {
    return `${this.prefix}{${storeKey}}`;
  }

  decide(request: StoreRequest): Promise<StoreVerdict> {
    const { algorithm, limits } = request;
    const key = this.keyOf(request.key);
    const limitArgs = this.limitArgs.get(limits) ?? this.encodeLimits(limits);
    const args = algorithm === 'sliding-log' ? [this.nextMember(), ...limitArgs] : limitArgs;
    if (!this.batching) return this.decideOne(algorithm, key, args, limits.length);
    return new Promise((resolve, reject) => {
      this.queues[algorithm].push({ key, args, limits: limits.length, resolve, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    const queues = this.queues;
    this.queues = { 'sliding-window': [], 'sliding-log': [], 'fixed-window': [] };
    for (const algorithm of ALGORITHMS) {
      const queue = queues[algorithm];
      for (let at = 0; at < queue.length; at += MAX_DECISIONS_PER_CALL) this.send(algorithm, queue.slice(at, at + MAX_DECISIONS_PER_CALL));
    }
  };

  private send(algorithm: Algorithm, batch: readonly Queued[]): void {
    if (batch.length === 1) {
      const { key, args, limits, resolve, reject } = batch[0]!;
      this.decideOne(algorithm, key, args, limits).then(resolve, reject);
      return;
    }
    const keys: string[] = [];
    const args: string[] = [];
    for (const queued of batch) {
      keys.push(queued.key);
      args.push(String(queued.args.length), ...queued.args);
    }
    this.run(RATE_LIMIT_BATCH_SCRIPTS[algorithm], keys, args).then(
      (reply) => {
        let at = 0;
        for (const { limits, resolve, reject } of batch) {
          try {
            resolve(parseReply(reply, at, limits));
          } catch (error) {
            reject(error);
          }
          at += 2 + 3 * limits;
        }
      },
      (error: unknown) => {
        for (const { reject } of batch) reject(error);
      },
    );
  }

  private decideOne(algorithm: Algorithm, key: string, args: readonly string[], limits: number): Promise<StoreVerdict> {
    return this.run(RATE_LIMIT_SCRIPTS[algorithm], [key], args).then((reply) => parseReply(reply, 0, limits, true));
  }

  private run(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.client.evalsha(script.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script.lua, keys.length, ...keys, ...args);
    });
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

/** One decision's reply at `at` of a script reply: { now_us, allowed, remaining, reset_us, retry_us per limit }. */
function parseReply(reply: unknown, at: number, limits: number, whole = false): StoreVerdict {
  const width = 2 + 3 * limits;
  if (!Array.isArray(reply) || reply.length < at + width || (whole && reply.length !== width))
    throw new Error('unexpected reply from the rate-limit script');
  for (let i = at; i < at + width; i += 1) if (typeof reply[i] !== 'number') throw new Error('unexpected reply from the rate-limit script');
  const values = reply as number[];
  const outcomes: LimitOutcome[] = [];
  for (let i = at + 2; i < at + width; i += 3) {
    outcomes.push({ remaining: values[i]!, resetMs: values[i + 1]! / 1000, retryMs: values[i + 2]! / 1000 });
  }
  return { allowed: values[at + 1] === 1, nowMs: values[at]! / 1000, limits: outcomes };
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

/**
 * The same for a Redis Cluster: fail-fast per node, no offline queue while the cluster's slots are
 * being (re)learnt, MOVED / ASK followed as ioredis does. RedisStore sends every decision on its own
 * (its keys share one hash tag, so one slot); SyncedStore sends one script per identifier. No
 * auto-pipelining: ioredis 5 groups an auto-pipeline by the slot of a command's first argument, which
 * for EVALSHA is the script's SHA, not its key, and then refuses the mixed pipeline ("All keys in the
 * pipeline should belong to the same slots allocation group"; redis-cluster.integration-spec).
 */
export function createRateLimitCluster(nodes: readonly ClusterNode[], overrides: ClusterOptions = {}): Cluster {
  const { redisOptions, ...rest } = overrides;
  return new Cluster([...nodes], {
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    clusterRetryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    slotsRefreshTimeout: 1000,
    ...rest,
    // Per node (credentials and TLS go here too); the fail-fast settings stay unless overridden.
    redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 250, connectTimeout: 1000, ...redisOptions },
  });
}

/**
 * A Cluster client from a `redis://` or `rediss://` URL naming one seed node (the others are learnt
 * from it): its user name, password and TLS apply to every node.
 */
export function createRateLimitClusterFromUrl(url: string, overrides: ClusterOptions = {}): Cluster {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port || 6379);
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return createRateLimitCluster([{ host, port }], {
    ...overrides,
    redisOptions: {
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(parsed.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
      ...overrides.redisOptions,
    },
  });
}
