// The plugin's access phase through kong-pdk's plugin_test harness against the shared Redis of
// tools/infra: counts live in Redis, so they hold across plugin instances and Kong nodes.
import { createRateLimitCluster, createRateLimitRedis } from '@traceo/rate-limit';
import { loadInfraEnv, OwnRedisCluster } from '@traceo/testing';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { closeGatewayLimiters } from '../src';
import { runAccess } from './kong-harness';
import { pluginConfig, sharedRedisConfig, TEST_IDENTIFIER_KEY, uniquePrefix, useTestPluginEnv } from './support';

const PASSWORD_ENV = 'TRACEO_KONG_PLUGIN_TEST_REDIS_PASSWORD';

describe('traceo-sliding-window in kong-pdk plugin_test, against Redis', () => {
  const prefix = uniquePrefix('harness');
  let redis: Record<string, unknown>;
  let inspector: Redis;

  beforeAll(async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined); // the harness prints each kong.log call with its whole state
    useTestPluginEnv();
    const shared = sharedRedisConfig(loadInfraEnv().redisUrl, PASSWORD_ENV, prefix);
    Object.assign(process.env, shared.env);
    redis = shared.config;
    inspector = createRateLimitRedis(loadInfraEnv().redisUrl, { commandTimeout: 5_000 });
    await once(inspector, 'ready');
  });

  afterEach(() => closeGatewayLimiters());

  afterAll(async () => {
    const keys = await inspector.keys(`${prefix}*`);
    if (keys.length > 0) await inspector.del(...keys);
    inspector.disconnect();
  });

  const alice = { consumer: { id: '6f1c2a4e-1111-4000-8000-00000000a11c', username: 'alice' } };
  const bob = { consumer: { id: '6f1c2a4e-2222-4000-8000-000000000b0b', username: 'bob' } };

  it('admits with the RateLimit fields until the limit, then answers 429 problem+json with Retry-After', async () => {
    const config = pluginConfig({ redis, limits: [3, 10], window_sizes: [60, 3600] });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const admitted = await runAccess(config, alice);
      expect(admitted.status).toBe(200);
      expect(admitted.headers.get('RateLimit-Policy')).toBe('"gateway-1m";q=3;w=60, "gateway-1h";q=10;w=3600');
      remaining.push(admitted.headers.get('RateLimit')!.replace(/;t=\d+/g, ''));
      // Decided by Redis: no warning, one PDK call for the consumer and two for the headers.
      expect(admitted.calls.map((call) => call.method)).toEqual([
        'kong.client.get_consumer',
        'kong.response.set_header',
        'kong.response.set_header',
      ]);
    }
    expect(remaining).toEqual([
      '"gateway-1m";r=2, "gateway-1h";r=9',
      '"gateway-1m";r=1, "gateway-1h";r=8',
      '"gateway-1m";r=0, "gateway-1h";r=7',
    ]);

    const refused = await runAccess(config, { ...alice, path: '/v1/audit/events', headers: { 'X-Request-Id': 'req-429' } });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.exit!.headers['Retry-After']);
    // The counter's wait can reach into the next window, until this window's three have decayed enough.
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2 * 60);
    expect(refused.exit!.headers).toEqual({
      'Content-Type': 'application/problem+json',
      'Retry-After': String(retryAfter),
      'RateLimit-Policy': '"gateway-1m";q=3;w=60, "gateway-1h";q=10;w=3600',
      RateLimit: expect.stringMatching(/^"gateway-1m";r=0;t=\d+, "gateway-1h";r=7;t=\d+$/),
    });
    // Draft section 6: Retry-After never points before the end of an effective window, so no t exceeds it.
    const resets = [...refused.exit!.headers.RateLimit!.matchAll(/;t=(\d+)/g)].map(([, t]) => Number(t));
    expect(Math.max(...resets)).toBeLessThanOrEqual(retryAfter);
    expect(JSON.parse(refused.body as string)).toEqual({
      type: 'https://traceo.dev/problems/rate-limit-exceeded',
      title: 'Too Many Requests',
      status: 429,
      code: 'RATE_LIMIT.EXCEEDED',
      detail: `Rate limit "gateway-1m" (3 requests per 60 s) exceeded; retry after ${retryAfter} s.`,
      instance: '/v1/audit/events',
      requestId: 'req-429',
      'violated-policies': ['gateway-1m'],
      retryAfter,
    });
    expect(refused.calls.map((call) => call.method)).toEqual([
      'kong.client.get_consumer',
      'kong.request.get_path',
      'kong.request.get_header',
      'kong.response.exit',
    ]);
  });

  it('keeps one count per consumer, in a Redis key that holds no raw identifier', async () => {
    const config = pluginConfig({ redis, limits: [2], window_sizes: [60] });
    expect((await runAccess(config, alice)).status).toBe(200);
    expect((await runAccess(config, alice)).status).toBe(200);
    expect((await runAccess(config, alice)).status).toBe(429);
    expect((await runAccess(config, bob)).headers.get('RateLimit')).toMatch(/^"gateway";r=1;t=\d+$/);

    const keys = await inspector.keys(`${prefix}kong:60:*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^${prefix}kong:60:\\{gateway:sliding-window:[A-Za-z0-9_-]{22}\\}$`));
      expect(key).not.toContain(alice.consumer.id);
      expect(key).not.toContain(TEST_IDENTIFIER_KEY);
    }
  });

  it('shares the count between plugin instances and survives a restarted plugin server (counts are in Redis)', async () => {
    const config = pluginConfig({ redis, limits: [2], window_sizes: [3600], algorithm: 'sliding-log', identifier: 'ip' });
    // Every harness request comes from 1.2.3.4 (its kong.client.get_forwarded_ip).
    expect((await runAccess(config, {})).status).toBe(200);
    await closeGatewayLimiters(); // as if the plugin server had restarted: no limiter, no connection left in the process
    expect((await runAccess(config, alice)).status).toBe(200);
    const refused = await runAccess(config, bob);
    expect(refused.status).toBe(429);
    expect(refused.calls[0]!.method).toBe('kong.client.get_forwarded_ip');
    expect(await inspector.zcard((await inspector.keys(`${prefix}kong:3600:*`))[0]!)).toBe(2);
  });
});

describe('traceo-sliding-window in kong-pdk plugin_test, against a Redis Cluster (redis.cluster)', () => {
  let cluster: OwnRedisCluster;

  beforeAll(async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    useTestPluginEnv();
    cluster = await OwnRedisCluster.start(3);
  }, 60_000);

  afterEach(() => closeGatewayLimiters());
  afterAll(() => cluster?.stop());

  it('limits each consumer through the cluster, named by one node, with its keys on the masters of their slots', async () => {
    const config = pluginConfig({
      redis: { host: '127.0.0.1', port: cluster.ports[2], cluster: true, timeout_ms: 2000 },
      limits: [2],
      window_sizes: [60],
    });
    const consumers = Array.from({ length: 12 }, (_, i) => ({
      consumer: { id: `6f1c2a4e-${String(i).padStart(4, '0')}-4000-8000-00000000c0de` },
    }));
    for (const caller of consumers) {
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await runAccess(config, caller)).status);
      expect(statuses).toEqual([200, 200, 429]);
    }
    const client = createRateLimitCluster(cluster.nodes);
    try {
      await once(client, 'ready');
      const perMaster = await Promise.all(client.nodes('master').map((node) => node.keys('traceo:rl:kong:60:*')));
      expect(perMaster.flat()).toHaveLength(12);
      expect(perMaster.filter((keys) => keys.length > 0).length).toBeGreaterThanOrEqual(2);
    } finally {
      client.disconnect();
    }
  });
});
