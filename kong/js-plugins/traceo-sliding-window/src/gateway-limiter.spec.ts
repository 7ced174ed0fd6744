import { MemoryStore, RateLimiter, type RateLimitRequest } from '@traceo/rate-limit';
import { rateLimitConfig, redisKeyPrefix, RULE_NAME } from './gateway-limiter';
import { parseSlidingWindowConfig } from './plugin-config';

const config = (overrides: Record<string, unknown> = {}) =>
  parseSlidingWindowConfig({
    limits: [5, 100],
    window_sizes: [60, 3600],
    identifier: 'ip',
    failure_mode: 'fail-closed',
    redis: { host: 'redis', port: 6379 },
    ...overrides,
  });

describe("the plugin's rule in libs/rate-limit", () => {
  it('applies the configured limits as written: no tier, bot or risk multiplier (Kong OSS tiers are consumer-scoped instances)', async () => {
    const limiter = new RateLimiter({
      config: rateLimitConfig(config()),
      store: new MemoryStore(),
      identifierKey: 'k'.repeat(32),
      cadence: false,
    });
    // An anonymous curl client would get the lib's free tier and bot factors (0.2 × 0.25) by default.
    const request: RateLimitRequest = { remoteAddress: '203.0.113.9', headers: { 'user-agent': 'curl/8.5.0' }, path: '/' };
    const decision = await limiter.check(RULE_NAME, request);
    expect(decision.headers['RateLimit-Policy']).toBe('"gateway-1m";q=5;w=60, "gateway-1h";q=100;w=3600');
    expect(decision.adjustment.factor).toBe(1);
    expect(decision.identifier).toMatchObject({ type: 'ip', source: 'ip', fallback: false });
  });

  it("maps Kong's names onto the lib's", () => {
    expect(
      rateLimitConfig(config({ algorithm: 'sliding-log', identifier: 'header', header_name: 'X-Tenant', failure_mode: 'fail-open' }))
        .rules[0],
    ).toMatchObject({
      algorithm: 'sliding-log',
      identifier: { type: 'header', header_name: 'X-Tenant' },
      failure_mode: 'open',
    });
    expect(rateLimitConfig(config()).rules[0]).toMatchObject({
      algorithm: 'sliding-window',
      identifier: { type: 'ip' },
      failure_mode: 'closed',
    });
  });

  it('keys Redis per window set (and header name), so instances with the same windows share a caller’s counts', () => {
    expect(redisKeyPrefix(config())).toBe('traceo:rl:kong:60.3600:');
    expect(redisKeyPrefix(config({ limits: [200, 10], window_sizes: [3600, 60], identifier: 'consumer' }))).toBe('traceo:rl:kong:60.3600:');
    expect(redisKeyPrefix(config({ limits: [5], window_sizes: [60] }))).toBe('traceo:rl:kong:60:');
    expect(redisKeyPrefix(config({ identifier: 'header', header_name: 'X-Tenant', redis: { host: 'r', port: 1, key_prefix: 'p:' } }))).toBe(
      'p:kong:60.3600:x-tenant:',
    );
  });
});
