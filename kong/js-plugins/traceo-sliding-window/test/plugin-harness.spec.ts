// The plugin's access phase through kong-pdk's plugin_test harness, with Redis unreachable (a port
// nothing listens on): no infrastructure needed. The same requests against the real Redis are in
// plugin-harness.integration-spec.ts.
import { closeGatewayLimiters } from '../src';
import { IDENTIFIER_KEY_ENV } from '../src/plugin-config';
import { runAccess } from './kong-harness';
import { closedPort, pluginConfig, useTestPluginEnv } from './support';

describe('traceo-sliding-window in kong-pdk plugin_test, Redis unreachable', () => {
  let redis: { host: string; port: number; timeout_ms: number };

  beforeAll(async () => {
    // The harness prints every kong.log call with its whole state; the specs read the calls instead.
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    useTestPluginEnv();
    redis = { host: '127.0.0.1', port: await closedPort(), timeout_ms: 50 };
  });
  afterEach(() => closeGatewayLimiters());

  const alice = { consumer: { id: 'c0ffee00-0000-4000-8000-00000000a11c', username: 'alice' } };
  const bob = { consumer: { id: 'c0ffee00-0000-4000-8000-000000000b0b', username: 'bob' } };

  it('fail-open: keeps limiting on this node alone, with the RateLimit fields, then answers 429 problem+json', async () => {
    const config = pluginConfig({ redis, failure_mode: 'fail-open' });

    const first = await runAccess(config, alice);
    expect(first.status).toBe(200);
    expect(first.exit).toBeUndefined();
    expect(first.headers.get('RateLimit-Policy')).toBe('"gateway-1m";q=3;w=60, "gateway-1h";q=10;w=3600');
    expect(first.headers.get('RateLimit')).toMatch(/^"gateway-1m";r=2;t=\d+, "gateway-1h";r=9;t=\d+$/);
    // A warning reaches Kong's log (once per 10 s), then the headers: nothing else is asked of Kong.
    expect(first.calls.map((call) => call.method)).toEqual([
      'kong.client.get_consumer',
      'kong.log.warn',
      'kong.response.set_header',
      'kong.response.set_header',
    ]);
    expect(first.calls[1]!.args[0]).toContain('deciding per Kong node (fail-open)');

    expect((await runAccess(config, alice)).headers.get('RateLimit')).toMatch(/^"gateway-1m";r=1;/);
    expect((await runAccess(config, alice)).headers.get('RateLimit')).toMatch(/^"gateway-1m";r=0;/);

    const refused = await runAccess(config, { ...alice, headers: { 'X-Request-Id': 'req-4' } });
    expect(refused.status).toBe(429);
    expect(refused.exit?.status).toBe(429);
    expect(refused.exit?.headers).toMatchObject({
      'Content-Type': 'application/problem+json',
      'Retry-After': expect.stringMatching(/^\d+$/),
      'RateLimit-Policy': '"gateway-1m";q=3;w=60, "gateway-1h";q=10;w=3600',
      RateLimit: expect.stringMatching(/^"gateway-1m";r=0;t=\d+, "gateway-1h";r=7;t=\d+$/),
    });
    const body = JSON.parse(refused.body as string);
    expect(body).toMatchObject({
      type: 'https://traceo.dev/problems/rate-limit-exceeded',
      status: 429,
      code: 'RATE_LIMIT.EXCEEDED',
      instance: '/v1/encryption/keyrings',
      requestId: 'req-4',
      'violated-policies': ['gateway-1m'],
    });
    expect(body.retryAfter).toBe(Number(refused.exit?.headers['Retry-After']));
    expect(JSON.stringify(body)).not.toContain(alice.consumer.id);
    expect(refused.calls.at(-1)!.method).toBe('kong.response.exit');
  });

  it('fail-open: counts each consumer separately', async () => {
    const config = pluginConfig({ redis, limits: [1], window_sizes: [60] });
    expect((await runAccess(config, alice)).status).toBe(200);
    expect((await runAccess(config, alice)).status).toBe(429);
    const other = await runAccess(config, bob);
    expect(other.status).toBe(200);
    expect(other.headers.get('RateLimit')).toMatch(/^"gateway";r=0;t=\d+$/);
  });

  it('fail-closed: answers 503 RATE_LIMIT.UNAVAILABLE with Retry-After and never proxies', async () => {
    const config = pluginConfig({ redis, failure_mode: 'fail-closed' });
    const refused = await runAccess(config, alice);
    expect(refused.status).toBe(503);
    expect(refused.exit?.headers).toMatchObject({ 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    expect(refused.exit?.headers.RateLimit).toBeUndefined();
    expect(JSON.parse(refused.body as string)).toMatchObject({ status: 503, code: 'RATE_LIMIT.UNAVAILABLE', 'violated-policies': [] });
    expect(refused.calls.find((call) => call.method === 'kong.log.warn')?.args[0]).toContain('refusing requests (fail-closed)');
  });

  it('an anonymous caller is limited by the client address Kong resolved', async () => {
    const config = pluginConfig({ redis, limits: [1], window_sizes: [60] });
    const first = await runAccess(config, {});
    expect(first.status).toBe(200);
    expect(first.calls.slice(0, 3).map((call) => call.method)).toEqual([
      'kong.client.get_consumer',
      'kong.client.get_credential',
      'kong.client.get_forwarded_ip',
    ]);
    // The harness gives every request the address 1.2.3.4: the second anonymous request shares the bucket.
    expect((await runAccess(config, {})).status).toBe(429);
    expect((await runAccess(config, alice)).status).toBe(200);
  });

  it('refuses to start an instance with an invalid configuration, naming the field', async () => {
    await expect(runAccess(pluginConfig({ redis, limits: [3, 10], window_sizes: [60] }), alice)).rejects.toThrow(
      'window_sizes: must list one window per limit (limits has 2, window_sizes has 1)',
    );
  });

  it('refuses to start an instance without the identifier key in the environment', async () => {
    const key = process.env[IDENTIFIER_KEY_ENV];
    delete process.env[IDENTIFIER_KEY_ENV];
    try {
      await expect(runAccess(pluginConfig({ redis }), alice)).rejects.toThrow(`${IDENTIFIER_KEY_ENV} must be set`);
    } finally {
      process.env[IDENTIFIER_KEY_ENV] = key;
    }
  });
});
