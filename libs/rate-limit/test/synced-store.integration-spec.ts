import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { createRateLimitRedis, RateLimiter, SyncedStore, type RateLimitRequest, type StoreRequest } from '../src';
import { deleteByPrefix, OwnRedisServer, sharedRedis, uniquePrefix } from './redis-support';

const hourly = (limit: number): StoreRequest => ({
  key: 'api:sliding-window:caller',
  algorithm: 'sliding-window',
  limits: [{ limit, windowMs: 3_600_000 }],
});

async function admitted(store: SyncedStore, count: number, limit: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < count; i += 1) if ((await store.decide(hourly(limit))).allowed) allowed += 1;
  return allowed;
}

describe('SyncedStore (approximate: decided locally, counts synced through Redis)', () => {
  let client: Redis;
  const prefix = uniquePrefix('synced');
  const stores: SyncedStore[] = [];
  const instance = (options: Partial<ConstructorParameters<typeof SyncedStore>[0]> = {}) => {
    const created = new SyncedStore({ client, prefix, syncIntervalMs: 60_000, ...options });
    stores.push(created);
    return created;
  };

  beforeAll(async () => {
    client = await sharedRedis();
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await deleteByPrefix(client, prefix);
    await client.quit();
  });

  it('shares counts between instances at each sync, and over-admits only by what the other admitted in between', async () => {
    const first = instance();
    const second = instance();
    expect(await admitted(first, 8, 10)).toBe(8); // one instance alone: exact
    await first.sync();
    expect(await admitted(second, 1, 10)).toBe(1); // not synced yet: sees only its own count
    await second.sync(); // 8 + 1 in Redis, read back
    expect(await admitted(second, 5, 10)).toBe(1);
    // The first has not synced since: it still sees its own 8 and admits two more (the documented inaccuracy).
    expect(await admitted(first, 5, 10)).toBe(2);
    await Promise.all([first.sync(), second.sync()]);
    expect(await admitted(first, 1, 10)).toBe(0);
    expect(await admitted(second, 1, 10)).toBe(0);
    const [key] = await client.keys(`${prefix}sync:*`);
    expect(await client.hget(key!, '3600000:c')).toBe('12');
  });

  it('decides a sliding log exactly, one script per request', async () => {
    const store = instance();
    const log: StoreRequest = { key: 'login:sliding-log:caller', algorithm: 'sliding-log', limits: [{ limit: 2, windowMs: 60_000 }] };
    const verdicts = [await store.decide(log), await store.decide(log), await store.decide(log)];
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([true, true, false]);
  });

  it('follows the failure mode once it could not sync for two intervals and a second', async () => {
    const server = await OwnRedisServer.start();
    const own = createRateLimitRedis(server.url);
    own.on('error', () => undefined);
    await once(own, 'ready');
    const clock = { now: Date.now() };
    const store = new SyncedStore({ client: own, syncIntervalMs: 60_000, clock: () => clock.now });
    const limiter = new RateLimiter({
      config: {
        rules: [
          { name: 'reads', limit: [100], window_size: [3600], failure_mode: 'open' },
          { name: 'payments', limit: [100], window_size: [3600], failure_mode: 'closed' },
        ],
      },
      store,
      identifierKey: 'synced-store-test-key-0123456789',
      clock: () => clock.now,
      cadence: false,
    });
    const caller: RateLimitRequest = { remoteAddress: '198.51.100.7', headers: {}, path: '/', consumer: { id: 'c-1' } };
    try {
      expect(await limiter.check('payments', caller)).toMatchObject({ allowed: true, degraded: false });
      await store.sync();
      await server.kill();
      await store.sync(); // fails: decisions go on locally for now
      expect(await limiter.check('payments', caller)).toMatchObject({ allowed: true, degraded: false });
      clock.now += 121_001;
      expect(await limiter.check('payments', caller)).toMatchObject({ allowed: false, reason: 'store-unavailable', degraded: true });
      expect(await limiter.check('reads', caller)).toMatchObject({ allowed: true, degraded: true });
    } finally {
      await store.close();
      own.disconnect();
      await server.kill();
    }
  });
});
