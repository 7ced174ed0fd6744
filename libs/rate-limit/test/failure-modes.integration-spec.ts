import { once } from 'node:events';
import type { Redis } from 'ioredis';
import {
  createRateLimitRedis,
  RATE_LIMIT_BATCH_SCRIPTS,
  RATE_LIMIT_SCRIPTS,
  RateLimiter,
  RedisStore,
  type RateLimitDecision,
  type RateLimitRequest,
} from '../src';
import { OwnRedisServer } from './redis-support';

const request: RateLimitRequest = {
  remoteAddress: '198.51.100.7',
  headers: { 'user-agent': 'traceo-cli/1.0' },
  path: '/v1/things',
  consumer: { id: 'c-1', group: 'standard' },
};

describe('Redis unreachable mid-test: each rule follows its failure mode', () => {
  let server: OwnRedisServer;
  let client: Redis;
  let limiter: RateLimiter;

  beforeAll(async () => {
    server = await OwnRedisServer.start();
    client = createRateLimitRedis(server.url);
    client.on('error', () => undefined); // connection errors are expected here; decisions report them
    await once(client, 'ready');
    limiter = new RateLimiter({
      config: {
        rules: [
          { name: 'reads', limit: [3], window_size: [3600], failure_mode: 'open' },
          { name: 'payments', limit: [3], window_size: [3600], failure_mode: 'closed' },
        ],
      },
      store: new RedisStore({ client }),
      identifierKey: 'failure-mode-test-key-0123456789',
      storeRetryMs: 200,
      cadence: false,
    });
  });

  afterAll(async () => {
    client.disconnect();
    await server.kill();
  });

  const decide = (rule: string) => limiter.check(rule, request);
  const allowedOf = async (rule: string, count: number) => {
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < count; i += 1) decisions.push(await decide(rule));
    return decisions.filter((decision) => decision.allowed).length;
  };

  it('re-sends the script with EVAL after the script cache is flushed (NOSCRIPT)', async () => {
    await client.script('FLUSH');
    expect(await client.script('EXISTS', RATE_LIMIT_SCRIPTS['sliding-window'].sha)).toEqual([0]);
    expect(await decide('reads')).toMatchObject({ allowed: true, degraded: false });
    expect(await client.script('EXISTS', RATE_LIMIT_SCRIPTS['sliding-window'].sha)).toEqual([1]);
  });

  it('re-sends the batch script with EVAL after the script cache is flushed (NOSCRIPT)', async () => {
    await client.script('FLUSH');
    const store = new RedisStore({ client, prefix: 'batch-noscript:' });
    const limits = [{ limit: 2, windowMs: 60_000 }];
    const verdicts = await Promise.all([1, 2, 3].map(() => store.decide({ key: 'k', algorithm: 'sliding-window', limits })));
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([true, true, false]);
    expect(await client.script('EXISTS', RATE_LIMIT_BATCH_SCRIPTS['sliding-window'].sha)).toEqual([1]);
  });

  it('decides locally (fail open) or refuses (fail closed) while Redis is down, and returns to Redis after', async () => {
    expect(await decide('payments')).toMatchObject({ allowed: true, degraded: false });
    await server.kill();

    const open = await decide('reads');
    expect(open).toMatchObject({ allowed: true, degraded: true, reason: 'within-limit' });
    // The local fallback enforces the same limit (it starts from zero: 3 per hour here).
    expect(await allowedOf('reads', 5)).toBe(2);
    const closed = await decide('payments');
    expect(closed).toMatchObject({ allowed: false, degraded: true, reason: 'store-unavailable' });
    const counters = limiter.counters();
    expect(counters.storeErrors).toBeGreaterThanOrEqual(1);
    expect(counters.rules.reads!.failedOpen).toBe(6);
    expect(counters.rules.payments!.failedClosed).toBe(1);

    await server.restart();
    const deadline = Date.now() + 15_000;
    let back = await decide('payments');
    while (back.degraded && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await decide('payments');
    }
    // The restarted server has no persistence: counting starts again from zero there.
    expect(back).toMatchObject({ allowed: true, degraded: false });
    expect(await decide('reads')).toMatchObject({ allowed: true, degraded: false });
  });
});
