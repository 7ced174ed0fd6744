import { RateLimiter, rateLimitProblem, type RateLimitConfigInput, type RateLimitDecision } from '@traceo/rate-limit';
import { closeGatewayEvents, gatewayEventsFromEnv, type GatewayEvents } from './gateway-events';
import { describeRequest, type KongPdk } from './kong-request';
import { identifierKeyFromEnv, type SlidingWindowConfig } from './plugin-config';
import { closeRedisConnections, redisStoreFor } from './redis-connections';

/** The rule's name in the limiter: policy names read `"gateway-1m"`, `"gateway-1h"` (or `"gateway"` for one limit). */
export const RULE_NAME = 'gateway';
/** At most one warning per limiter this often while Redis is unreachable (each is a PDK call). */
const DEGRADED_LOG_INTERVAL_MS = 10_000;
/** Limiters kept per distinct configuration; Admin API churn cannot grow the process without bound. */
const MAX_LIMITERS = 1024;

/**
 * One plugin configuration's limiter. Kong starts a plugin-server instance per plugin entity and
 * restarts it whenever the entity changes or the server drops it after a minute idle; instances with
 * the same configuration share this object (and so their fail-open fallback counters), and every
 * limiter on the same Redis settings shares one connection.
 */
export class GatewayLimiter {
  private nextDegradedLog = 0;

  constructor(
    readonly config: SlidingWindowConfig,
    private readonly limiter: RateLimiter,
    /** Undefined when the events are turned off (TRACEO_GATEWAY_EVENTS=off). */
    private readonly events: GatewayEvents | undefined,
  ) {}

  /** The access phase: admit with RateLimit headers, or end the request with the problem response. */
  async access(kong: KongPdk): Promise<void> {
    const request = await describeRequest(kong, this.config);
    const decision = await this.limiter.check(RULE_NAME, request);
    if (decision.degraded) await this.warnDegraded(kong, decision);
    if (decision.allowed) {
      await kong.response.setHeader('RateLimit-Policy', decision.headers['RateLimit-Policy']);
      if (decision.headers.RateLimit !== undefined) await kong.response.setHeader('RateLimit', decision.headers.RateLimit);
      return;
    }
    const instance = request.path || (await kong.request.getPath()) || '/';
    const requestId = (await kong.request.getHeader('x-request-id')) ?? undefined;
    if (this.events !== undefined) await this.report(kong, decision, request.route);
    const problem = rateLimitProblem(decision, { instance, ...(requestId ? { requestId } : {}) });
    // Serialized here: Kong would JSON-encode a table body with cjson, which turns an empty array into {}.
    await kong.response.exit(problem.status, JSON.stringify(problem.body), problem.headers);
  }

  /** Two more PDK calls, on refusals only: the method and the route's name for the event (never the raw path). */
  private async report(kong: KongPdk, decision: RateLimitDecision, routeId: string | undefined): Promise<void> {
    const method = (await kong.request.getMethod()) ?? 'GET';
    const route = await kong.router.getRoute();
    this.events!.report(decision, { method, route: route?.name ?? route?.id ?? routeId ?? '/' });
  }

  private async warnDegraded(kong: KongPdk, decision: RateLimitDecision): Promise<void> {
    const now = Date.now();
    if (now < this.nextDegradedLog) return;
    this.nextDegradedLog = now + DEGRADED_LOG_INTERVAL_MS;
    const { host, port, database } = this.config.redis;
    await kong.log.warn(
      `traceo-sliding-window: Redis ${host}:${port}/${database} unreachable; ` +
        (decision.reason === 'store-unavailable' ? 'refusing requests (fail-closed)' : 'deciding per Kong node (fail-open)'),
    );
  }
}

const limiters = new Map<string, GatewayLimiter>();

/** The limiter for a validated configuration, built on first use (reads the identifier key and Redis password then). */
export function gatewayLimiterFor(config: SlidingWindowConfig): GatewayLimiter {
  const key = JSON.stringify(config);
  const cached = limiters.get(key);
  if (cached !== undefined) return cached;
  const identifierKey = identifierKeyFromEnv();
  const events = gatewayEventsFromEnv();
  const limiter = new GatewayLimiter(
    config,
    new RateLimiter({
      config: rateLimitConfig(config),
      store: redisStoreFor(config.redis, redisKeyPrefix(config)),
      identifierKey,
      cadence: false,
    }),
    events,
  );
  if (limiters.size >= MAX_LIMITERS) limiters.delete(limiters.keys().next().value!);
  limiters.set(key, limiter);
  return limiter;
}

/**
 * libs/rate-limit's rule for a Kong config. Kong open source has no consumer groups: each tier is a
 * consumer-scoped plugin instance carrying its own limits (kong/kong.yml), so the lib's tier, bot and
 * risk multipliers are all 1 and the configured limits apply as written. Kong resolved the client
 * address already (trusted_ips, real_ip_header), so the limiter trusts no proxy.
 */
export function rateLimitConfig(config: SlidingWindowConfig): RateLimitConfigInput {
  return {
    trusted_proxies: [],
    rules: [
      {
        name: RULE_NAME,
        algorithm: config.algorithm === 'sliding-log' ? 'sliding-log' : 'sliding-window',
        limit: [...config.limits],
        window_size: [...config.window_sizes],
        identifier: config.identifier === 'header' ? { type: 'header', header_name: config.header_name! } : { type: config.identifier },
        failure_mode: config.failure_mode === 'fail-closed' ? 'closed' : 'open',
        tiers: { free: 1, standard: 1, premium: 1, enterprise: 1 },
        default_tier: 'standard',
        bot: { factor: 1, include_authenticated: false },
        risk: [],
      },
    ],
  };
}

/**
 * `<key_prefix>kong:<windows>[:<header>]:` before the lib's `{gateway:<algorithm>:<identifier hash>}`.
 * Plugin instances with the same windows share a caller's counts (a consumer's limit holds across
 * every route that applies it, and moving between tiers keeps the count); different window sets must
 * not share a key, because the scripts trim and expire a key by the windows of the request at hand.
 */
export function redisKeyPrefix(config: SlidingWindowConfig): string {
  const windows = [...config.window_sizes].sort((a, b) => a - b).join('.');
  const header = config.identifier === 'header' ? `:${config.header_name!.toLowerCase()}` : '';
  return `${config.redis.key_prefix}kong:${windows}${header}:`;
}

/** Closes every Redis connection and the event producer, and forgets every limiter (tests; the plugin server itself never stops them). */
export async function closeGatewayLimiters(): Promise<void> {
  closeRedisConnections();
  limiters.clear();
  await closeGatewayEvents();
}
