import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { EventTypes } from '@traceo/contracts';
import {
  BlockedEventReporter,
  createRateLimitClusterFromUrl,
  createRateLimitRedis,
  MemoryStore,
  RateLimiter,
  RedisStore,
  SyncedStore,
  type BlockedEventReporterOptions,
  type Clock,
  type RateLimitStore,
  type Tier,
} from '@traceo/rate-limit';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConfigurationError } from '../config';
import { EventPublisher } from '../event-publisher';
import { SERVICE_RUNTIME, type ServiceRuntime } from '../service-runtime';
import { RATE_LIMIT_RULE, type RateLimitDeclaration } from './rate-limit.decorators';
import { registerRateLimitMetrics } from './rate-limit.metrics';
import { rateLimitConfigFromJson } from './rate-limit.settings';

/** Test seams: a fake clock, a store standing in for Redis, tighter event settings. */
export interface RateLimitOverrides {
  readonly clock?: Clock;
  /** Replaces the store TRACEO_REDIS_URL would select. */
  readonly store?: RateLimitStore;
  readonly storeRetryMs?: number;
  /** `false`: no behaviour-based bot signal. */
  readonly cadence?: false;
  readonly events?: Pick<BlockedEventReporterOptions, 'debounceMs' | 'maxPerSecond' | 'maxInFlight'>;
}

export const RATE_LIMIT_OVERRIDES = Symbol('RATE_LIMIT_OVERRIDES');

/** How long the boot waits for Redis before going on (rules then follow their failure mode). */
const REDIS_BOOT_WAIT_MS = 2000;

/**
 * Everything the RateLimitGuard decides with, built once from the validated configuration: the
 * limiter (Redis store when TRACEO_REDIS_URL is set, else in memory; in-memory fallback for fail-open
 * rules), the client tiers, the debounced request-blocked events and the Prometheus counters. Checks
 * at start-up that every @RateLimit() names a configured rule; closes Redis at shutdown.
 */
@Injectable()
export class RateLimitRuntime implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  /** Undefined when TRACEO_RATE_LIMIT_ENABLED is false: the guard lets everything through. */
  readonly limiter: RateLimiter | undefined;
  readonly reporter: BlockedEventReporter;
  readonly clientTiers: ReadonlyMap<string, Tier>;
  private readonly redis: Redis | Cluster | undefined;
  /** TRACEO_RATE_LIMIT_SYNC_MS: the approximate synced store, closed (last sync) at shutdown. */
  private readonly synced: SyncedStore | undefined;
  private readonly logger: Logger;
  private readonly sharedIdentifierKey: boolean;
  private redisDown = false;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    publisher: EventPublisher,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Optional() @Inject(RATE_LIMIT_OVERRIDES) overrides: RateLimitOverrides | null,
  ) {
    const { config, logger } = runtime;
    this.logger = logger;
    this.clientTiers = config.TRACEO_RATE_LIMIT_CLIENT_TIERS ?? new Map();
    this.sharedIdentifierKey = config.TRACEO_RATE_LIMIT_IDENTIFIER_KEY !== undefined;
    this.reporter = new BlockedEventReporter({
      ...overrides?.events,
      ...(overrides?.clock ? { clock: overrides.clock } : {}),
      publish: async (data, request) => {
        const extra = request.traceparent === undefined ? {} : { traceparent: request.traceparent };
        await publisher.publish([publisher.event(EventTypes.gatewayRequestBlocked, request.tenantId, data, extra)]);
      },
      onError: (error) => logger.warn({ err: error }, 'could not record a request-blocked event'),
    });
    if (!config.TRACEO_RATE_LIMIT_ENABLED) return;
    const rules = config.TRACEO_RATE_LIMIT_RULES ?? rateLimitConfigFromJson(undefined);
    let store = overrides?.store;
    if (store === undefined && config.TRACEO_REDIS_URL !== undefined) {
      this.redis = this.connect(config.TRACEO_REDIS_URL, config.TRACEO_REDIS_CLUSTER);
      // Per service: the five services share one Redis, and each enforces its own limits.
      const prefix = `traceo:rl:${runtime.name}:`;
      const syncIntervalMs = config.TRACEO_RATE_LIMIT_SYNC_MS;
      if (syncIntervalMs === undefined) store = new RedisStore({ client: this.redis, prefix });
      else store = this.synced = new SyncedStore({ client: this.redis, prefix, syncIntervalMs });
    }
    this.limiter = new RateLimiter({
      config: { ...rules, trusted_proxies: [...new Set([...rules.trusted_proxies, ...(config.TRACEO_TRUSTED_PROXIES ?? [])])] },
      store: store ?? new MemoryStore(overrides?.clock ? { clock: overrides.clock } : {}),
      identifierKey: config.TRACEO_RATE_LIMIT_IDENTIFIER_KEY ?? randomBytes(32),
      ...(overrides?.clock ? { clock: overrides.clock } : {}),
      ...(overrides?.storeRetryMs !== undefined ? { storeRetryMs: overrides.storeRetryMs } : {}),
      ...(overrides?.cadence === false ? { cadence: false } : {}),
    });
    registerRateLimitMetrics(runtime.metrics, this.limiter, this.reporter);
  }

  /** A @RateLimit() naming a rule the configuration lacks stops the boot (exit 78), naming the route. */
  onModuleInit(): void {
    if (this.limiter === undefined) return;
    const known = new Set(this.limiter.ruleNames);
    const unknown: string[] = [];
    for (const { metatype } of this.discovery.getControllers()) {
      if (typeof metatype !== 'function') continue;
      const prototype = metatype.prototype as Record<string, unknown>;
      const targets: [object, string][] = [
        [metatype, metatype.name],
        ...this.scanner
          .getAllMethodNames(prototype)
          .map((method): [object, string] => [prototype[method] as object, `${metatype.name}.${method}`]),
      ];
      for (const [target, where] of targets) {
        const declared = this.reflector.get<RateLimitDeclaration | undefined>(RATE_LIMIT_RULE, target as never);
        if (declared !== undefined && !known.has(declared.rule)) unknown.push(`@RateLimit('${declared.rule}') on ${where}`);
      }
    }
    if (unknown.length > 0)
      throw new ConfigurationError([`TRACEO_RATE_LIMIT_RULES defines no rule for ${unknown.join(', ')} (rules: ${[...known].join(', ')})`]);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.limiter === undefined) {
      this.logger.warn('rate limiting off (TRACEO_RATE_LIMIT_ENABLED=false)');
      return;
    }
    this.reporter.start();
    const rules = this.limiter.ruleNames;
    if (this.redis === undefined) {
      this.logger.info(
        { rateLimit: { store: 'memory', rules } },
        'rate limiting on, in-memory store only (TRACEO_REDIS_URL not set): limits are per instance',
      );
      return;
    }
    const redis = (await this.redisReady()) ? 'connected' : 'unreachable (rules follow their failure_mode until it answers)';
    const syncMs = this.runtime.config.TRACEO_RATE_LIMIT_SYNC_MS;
    const cluster = this.runtime.config.TRACEO_REDIS_CLUSTER;
    if (syncMs === undefined)
      this.logger.info({ rateLimit: { store: 'redis', redis, cluster, rules } }, 'rate limiting on, counters in Redis');
    else
      this.logger.info(
        { rateLimit: { store: 'redis-synced', syncMs, redis, cluster, rules } },
        `rate limiting on, counters decided locally and synced with Redis every ${syncMs} ms (approximate across instances)`,
      );
    if (!this.sharedIdentifierKey)
      this.logger.warn('TRACEO_RATE_LIMIT_IDENTIFIER_KEY is not set: identifier hashes are per process, so replicas do not share buckets');
  }

  async onApplicationShutdown(): Promise<void> {
    this.reporter.stop(); // publishes the counts still pending
    await this.reporter.settle();
    await this.synced?.close();
    // QUIT lets the server close the connection; without one (Redis away) there is nothing to wait for.
    if (this.redis?.status === 'ready') await this.redis.quit().catch(() => undefined);
    this.redis?.disconnect();
  }

  private connect(url: string, cluster: boolean): Redis | Cluster {
    const client = cluster ? createRateLimitClusterFromUrl(url) : createRateLimitRedis(url);
    // ioredis reconnects in the background; one line per outage, never the URL (it holds the password).
    client.on('error', (error: Error) => {
      if (this.redisDown) return;
      this.redisDown = true;
      this.logger.warn({ err: { message: error.message } }, 'rate-limit Redis unreachable; rules follow their failure_mode');
    });
    client.on('ready', () => {
      if (!this.redisDown) return;
      this.redisDown = false;
      this.logger.info('rate-limit Redis reachable again');
    });
    return client;
  }

  private async redisReady(): Promise<boolean> {
    const client = this.redis!;
    if (client.status === 'ready') return true;
    try {
      await once(client, 'ready', { signal: AbortSignal.timeout(REDIS_BOOT_WAIT_MS) });
      return true;
    } catch {
      return false; // 'error' or the wait ran out
    }
  }
}
