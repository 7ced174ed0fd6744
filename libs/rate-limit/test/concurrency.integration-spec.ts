import type { Redis } from 'ioredis';
import { RedisStore, type Algorithm } from '../src';
import { deleteByPrefix, sharedRedis, uniquePrefix } from './redis-support';

const CLIENTS = 50;
const REQUESTS_PER_CLIENT = 40;
const LIMIT = 100;

describe('50 parallel clients hammering one key', () => {
  const prefix = uniquePrefix('concurrency');
  const clients: Redis[] = [];

  beforeAll(async () => {
    for (let i = 0; i < CLIENTS; i += 1) clients.push(await sharedRedis());
  });

  afterAll(async () => {
    await deleteByPrefix(clients[0]!, prefix);
    await Promise.all(clients.map((client) => client.quit()));
  });

  // A one-day window: all 2,000 requests land inside one window, so exactly LIMIT may pass.
  it.each<Algorithm>(['sliding-log', 'sliding-window'])('%s admits exactly the limit, never more', async (algorithm) => {
    const limits = [{ limit: LIMIT, windowMs: 86_400_000 }];
    const key = `hammered:${algorithm}`;
    // Each client is its own connection and its own store instance, like separate gateway replicas.
    const admitted = await Promise.all(
      clients.map(async (client) => {
        const store = new RedisStore({ client, prefix });
        let count = 0;
        for (let i = 0; i < REQUESTS_PER_CLIENT; i += 1) if ((await store.decide({ key, algorithm, limits })).allowed) count += 1;
        return count;
      }),
    );
    const total = admitted.reduce((sum, count) => sum + count, 0);
    console.log(`${algorithm}: ${CLIENTS} clients × ${REQUESTS_PER_CLIENT} requests, limit ${LIMIT}: admitted ${total}`);
    expect(total).toBe(LIMIT);
    if (algorithm === 'sliding-log') expect(await clients[0]!.zcard(`${prefix}{${key}}`)).toBe(LIMIT);
  });
});
