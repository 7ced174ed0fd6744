import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RATE_LIMIT_BATCH_SCRIPTS, RateLimiter, RedisStore, type Algorithm, type RateLimitRequest, type StoreRequest } from '../src';
import { deleteByPrefix, sharedRedis, uniquePrefix } from './redis-support';

const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0', 'accept-language': 'en' };

describe('RateLimiter on Redis', () => {
  let client: Redis;
  const prefix = uniquePrefix('limiter');
  let limiter: RateLimiter;

  beforeAll(async () => {
    client = await sharedRedis();
    limiter = new RateLimiter({
      config: {
        trusted_proxies: ['10.0.0.0/8'],
        rules: [
          { name: 'api', limit: [50, 1000], window_size: [60, 3600], failure_mode: 'open', endpoint_classes: { auth: 0.2 } },
          {
            name: 'login',
            algorithm: 'sliding-log',
            limit: [2],
            window_size: [1],
            failure_mode: 'closed',
            identifier: { type: 'ip' },
            tiers: { free: 1, standard: 1, premium: 1, enterprise: 1 },
          },
        ],
      },
      store: new RedisStore({ client, prefix }),
      identifierKey: 'redis-limiter-test-key-0123456789',
      cadence: false,
    });
  });

  afterAll(async () => {
    await deleteByPrefix(client, prefix);
    await client.quit();
  });

  async function admitted(request: RateLimitRequest, attempts = 300): Promise<number> {
    let count = 0;
    for (let i = 0; i < attempts; i += 1) if ((await limiter.check('api', request)).allowed) count += 1;
    return count;
  }

  it('changes the limit with the consumer tier, the endpoint class and the risk score', async () => {
    const consumer = (id: string, group: string): RateLimitRequest => ({
      remoteAddress: '198.51.100.7',
      headers: browser,
      path: '/v1/x',
      consumer: { id, group },
    });
    expect(await admitted(consumer('tier-free', 'free'))).toBe(10);
    expect(await admitted(consumer('tier-standard', 'standard'))).toBe(50);
    expect(await admitted(consumer('tier-premium', 'premium'))).toBe(250);
    expect(await admitted({ ...consumer('class-auth', 'standard'), endpointClass: 'auth' })).toBe(10);
    expect(await admitted({ ...consumer('risk-60', 'standard'), riskScore: 60 })).toBe(25);
    expect(await admitted({ ...consumer('risk-90', 'standard'), riskScore: 90 })).toBe(10);
    const decision = await limiter.check('api', { ...consumer('risk-90', 'standard'), riskScore: 90 });
    expect(decision.headers['RateLimit-Policy']).toBe('"api-1m";q=10;w=60, "api-1h";q=200;w=3600');
  });

  it('stores hashed identifiers under one hash-tagged key per decision, with an expiry', async () => {
    await limiter.check('login', { remoteAddress: '10.0.0.2', headers: { ...browser, 'x-forwarded-for': '203.0.113.77' }, path: '/login' });
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^${prefix}\\{[a-z0-9._-]+:(sliding-window|sliding-log|fixed-window):[A-Za-z0-9_-]{22}\\}$`));
      expect(key).not.toMatch(/203\.0\.113|tier-|risk-/);
      expect(await client.pttl(key)).toBeGreaterThan(0);
    }
  });

  // The scripts renew expiries only now and then; after every admission the key must still live as
  // long as its counts matter: a sliding log's newest entry for a full window, a counter's current
  // window for the rest of it plus the next (where it is the previous window), a fixed window's to
  // its end. Otherwise counts vanish early and the limit loosens.
  it.each<[Algorithm, (resetMs: number, windowMs: number) => number]>([
    ['sliding-log', (_, windowMs) => windowMs],
    ['sliding-window', (resetMs, windowMs) => resetMs + windowMs],
    ['fixed-window', (resetMs) => resetMs],
  ])('%s keeps its key for as long as its counts matter', async (algorithm, needed) => {
    const store = new RedisStore({ client, prefix });
    const key = `expiry:${algorithm}`;
    const limits = [{ limit: 1_000, windowMs: 1_000 }];
    for (let i = 0; i < 25; i += 1) {
      const verdict = await store.decide({ key, algorithm, limits });
      expect(verdict.allowed).toBe(true);
      // Absolute expiry against the decision's Redis time: how long the test took between the two does not matter.
      const expiresAt = Number(await client.call('PEXPIRETIME', store.keyOf(key)));
      expect(expiresAt).toBeGreaterThanOrEqual(verdict.nowMs + needed(verdict.limits[0]!.resetMs, 1_000) - 20);
      await sleep(97);
    }
  });

  it('decides the decisions of one turn in one script call, each as if alone', async () => {
    const store = new RedisStore({ client, prefix });
    const decide = (key: string, algorithm: Algorithm, limit: number): StoreRequest => ({
      key: `batch:${key}`,
      algorithm,
      limits: [
        { limit, windowMs: 60_000 },
        { limit: 1_000, windowMs: 3_600_000 },
      ],
    });
    const requests = [
      ...Array.from({ length: 5 }, () => decide('a', 'sliding-window', 3)),
      ...Array.from({ length: 4 }, () => decide('b', 'sliding-log', 2)),
      ...Array.from({ length: 3 }, () => decide('c', 'fixed-window', 1)),
    ];
    const verdicts = await Promise.all(requests.map((request) => store.decide(request)));
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([
      true,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
    expect(verdicts.map((verdict) => verdict.limits[0]!.remaining)).toEqual([2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(await client.script('EXISTS', RATE_LIMIT_BATCH_SCRIPTS['sliding-log'].sha)).toEqual([1]);
  });

  it('admits a refused caller again once Retry-After has passed (Redis clock)', async () => {
    const caller: RateLimitRequest = { remoteAddress: '198.51.100.99', headers: browser, path: '/login' };
    expect((await limiter.check('login', caller)).allowed).toBe(true);
    expect((await limiter.check('login', caller)).allowed).toBe(true);
    const refused = await limiter.check('login', caller);
    expect(refused).toMatchObject({ allowed: false, reason: 'limit-exceeded', retryAfter: 1 });
    expect(refused.headers.RateLimit).toMatch(/^"login";r=0;t=1$/);
    await sleep(1_050);
    expect((await limiter.check('login', caller)).allowed).toBe(true);
  });
});
