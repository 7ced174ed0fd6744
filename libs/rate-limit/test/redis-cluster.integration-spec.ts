// libs/rate-limit on a real Redis Cluster: three redis-server masters in cluster mode (the Debian binary
// tools/infra installs), started and joined by this spec, never the shared standalone Redis.
import type { Cluster } from 'ioredis';
import { once } from 'node:events';
import {
  createRateLimitCluster,
  RateLimiter,
  RedisStore,
  SyncedStore,
  type Algorithm,
  type RateLimitConfigInput,
  type RateLimitDecision,
} from '../src';
import { OwnRedisCluster, uniquePrefix } from './redis-support';

const IDENTIFIER_KEY = 'cluster-test-identifier-key-0123456789';

function config(algorithm: 'sliding-window' | 'sliding-log', failureMode: 'open' | 'closed' = 'closed'): RateLimitConfigInput {
  return {
    rules: [
      {
        name: 'api',
        algorithm,
        limit: [5, 20],
        window_size: [60, 3600],
        identifier: { type: 'consumer' },
        failure_mode: failureMode,
        tiers: { free: 1, standard: 1, premium: 1, enterprise: 1 },
      },
    ],
  };
}

const request = (consumer: string) => ({ headers: {}, path: '/v1/things', consumer: { id: consumer } });

/** Every key under `prefix` on each master, by master port. */
async function keysByMaster(client: Cluster, prefix: string): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const node of client.nodes('master')) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    found.set(node.options.port!, keys);
  }
  return found;
}

describe('rate limiting on a three-master Redis Cluster', () => {
  let cluster: OwnRedisCluster;
  const clients: Cluster[] = [];
  /** A client as a deployment makes one (createRateLimitCluster), ready for commands. */
  const client = async () => {
    const made = createRateLimitCluster(cluster.nodes);
    clients.push(made);
    await once(made, 'ready');
    return made;
  };

  beforeAll(async () => {
    cluster = await OwnRedisCluster.start(3);
  }, 60_000);

  afterAll(async () => {
    for (const made of clients) made.disconnect();
    await cluster?.stop();
  });

  it.each<'sliding-window' | 'sliding-log'>(['sliding-window', 'sliding-log'])(
    '%s: 40 callers spread over every master, each admitted exactly its limit; each caller’s keys in one slot',
    async (algorithm) => {
      const redis = await client();
      const prefix = uniquePrefix(`cluster-${algorithm}`);
      const limiter = new RateLimiter({
        config: config(algorithm),
        store: new RedisStore({ client: redis, prefix }),
        identifierKey: IDENTIFIER_KEY,
        cadence: false,
      });
      const callers = Array.from({ length: 40 }, (_, i) => `consumer-${i}`);
      const decisions = await Promise.all(
        callers.flatMap((caller) => Array.from({ length: 8 }, () => Promise.resolve(limiter.check('api', request(caller))))),
      );
      expect(decisions.every((decision) => !decision.degraded)).toBe(true);
      const admittedPer = new Map<string, number>();
      for (const decision of decisions) {
        if (decision.allowed) admittedPer.set(decision.identifier.hash, (admittedPer.get(decision.identifier.hash) ?? 0) + 1);
      }
      expect(admittedPer.size).toBe(40);
      expect([...admittedPer.values()].every((admitted) => admitted === 5)).toBe(true);

      const byMaster = await keysByMaster(redis, prefix);
      const counts = [...byMaster.values()].map((keys) => keys.length);
      console.log(`${algorithm}: keys per master ${counts.join(' / ')}`);
      expect(counts).toHaveLength(3);
      expect(counts.every((count) => count > 0)).toBe(true);
      const allKeys = [...byMaster.values()].flat();
      expect(allKeys).toHaveLength(40);
      for (const key of allKeys) {
        expect(key).toMatch(new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\{api:${algorithm}:[A-Za-z0-9_-]{22}\\}$`));
        expect(Number(await redis.cluster('KEYSLOT', key))).toBe(Number(await redis.cluster('KEYSLOT', key.slice(key.indexOf('{')))));
      }
    },
  );

  it.each<Algorithm>(['sliding-log', 'sliding-window'])(
    '%s: 10 clients (separate connections, like gateway replicas) × 30 requests on one key admit exactly the limit',
    async (algorithm) => {
      const prefix = uniquePrefix(`cluster-hammer-${algorithm}`);
      const replicas = await Promise.all(Array.from({ length: 10 }, () => client()));
      const limits = [{ limit: 100, windowMs: 86_400_000 }];
      const admitted = await Promise.all(
        replicas.map(async (redis) => {
          const store = new RedisStore({ client: redis, prefix });
          let count = 0;
          for (let i = 0; i < 30; i += 1) if ((await store.decide({ key: 'hammered', algorithm, limits })).allowed) count += 1;
          return count;
        }),
      );
      const total = admitted.reduce((sum, count) => sum + count, 0);
      console.log(`${algorithm} on the cluster: 10 clients × 30 requests, limit 100: admitted ${total}`);
      expect(total).toBe(100);
    },
  );

  it("after SCRIPT FLUSH on every master, decisions go on (NOSCRIPT → EVAL on the key's node)", async () => {
    const redis = await client();
    const prefix = uniquePrefix('cluster-noscript');
    const store = new RedisStore({ client: redis, prefix });
    const limits = [{ limit: 2, windowMs: 60_000 }];
    expect((await store.decide({ key: 'a', algorithm: 'sliding-window', limits })).allowed).toBe(true);
    await Promise.all(redis.nodes('master').map((node) => node.script('FLUSH')));
    const after = await Promise.all(['a', 'a', 'b', 'c', 'd'].map((key) => store.decide({ key, algorithm: 'sliding-window', limits })));
    expect(after.map((verdict) => verdict.allowed)).toEqual([true, false, true, true, true]);
  });

  it('the synced store shares counts between two instances across every master', async () => {
    const prefix = uniquePrefix('cluster-synced');
    const errors: unknown[] = [];
    const [one, two] = await Promise.all([client(), client()]);
    const stores = [one, two].map(
      (redis) => new SyncedStore({ client: redis, prefix, syncIntervalMs: 60_000, onSyncError: (error) => errors.push(error) }),
    );
    const limits = [{ limit: 10, windowMs: 3_600_000 }];
    const keys = Array.from({ length: 30 }, (_, i) => `caller-${i}`);
    const [first, second] = stores as [SyncedStore, SyncedStore];
    const decideAll = (store: SyncedStore) =>
      Promise.all(keys.map((key) => Promise.resolve(store.decide({ key, algorithm: 'sliding-window', limits }))));
    // A sync adds the identifiers seen since the last one and reads their totals back.
    for (let i = 0; i < 4; i += 1) await decideAll(first);
    for (let i = 0; i < 4; i += 1) await decideAll(second);
    await first.sync(); // Redis 4 per caller
    await second.sync(); // Redis 8; the second instance sees 8
    await decideAll(first); // the first sees 4 + 1
    await decideAll(second); // 9
    await first.sync(); // Redis 9; the first sees 9
    await second.sync(); // Redis 10
    expect(errors).toEqual([]);
    // Had a sync missed the other instance's admissions (or a master), the first would still see 5.
    for (const verdict of await decideAll(first)) expect(verdict).toMatchObject({ allowed: true, limits: [{ remaining: 0 }] });
    for (const verdict of await decideAll(second)) expect(verdict.allowed).toBe(false);
    const byMaster = await keysByMaster(one, prefix);
    expect([...byMaster.values()].every((found) => found.length > 0)).toBe(true);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('a master down: its callers follow the rule’s failure mode, the other masters’ callers are still decided in Redis', async () => {
    const redis = await client();
    const prefix = uniquePrefix('cluster-down');
    const closed = new RateLimiter({
      config: config('sliding-window', 'closed'),
      store: new RedisStore({ client: redis, prefix }),
      identifierKey: IDENTIFIER_KEY,
      cadence: false,
    });
    const open = new RateLimiter({
      config: config('sliding-window', 'open'),
      store: new RedisStore({ client: redis, prefix: `${prefix}open:` }),
      identifierKey: IDENTIFIER_KEY,
      cadence: false,
    });
    const callers = Array.from({ length: 30 }, (_, i) => `consumer-${i}`);
    // Which master holds each caller's key, learnt from the keys the first decisions wrote.
    await Promise.all(callers.map((caller) => Promise.resolve(closed.check('api', request(caller)))));
    const byMaster = await keysByMaster(redis, prefix);
    const [downPort, downKeys] = [...byMaster].find(([, keys]) => keys.length > 0)!;
    await cluster.kill(downPort);

    // One after the other: a failure on the down master must not pause the store for the callers after it.
    const decisions: (readonly [RateLimitDecision, RateLimitDecision])[] = [];
    for (const caller of callers) decisions.push([await closed.check('api', request(caller)), await open.check('api', request(caller))]);
    let onDownMaster = 0;
    for (const [fromClosed, fromOpen] of decisions) {
      const key = `${prefix}{api:sliding-window:${fromClosed.identifier.hash}}`;
      if (downKeys.includes(key)) {
        onDownMaster += 1;
        expect(fromClosed).toMatchObject({ allowed: false, reason: 'store-unavailable', degraded: true });
        expect(fromOpen).toMatchObject({ allowed: true, degraded: true });
      } else {
        expect(fromClosed).toMatchObject({ allowed: true, degraded: false });
        expect(fromClosed.limits[0]!.remaining).toBe(3);
        expect(fromOpen).toMatchObject({ allowed: true, degraded: false });
      }
    }
    console.log(`master ${downPort} down: ${onDownMaster} of ${callers.length} callers on it`);
    expect(onDownMaster).toBe(downKeys.length);
    expect(onDownMaster).toBeGreaterThan(0);
    expect(onDownMaster).toBeLessThan(callers.length);
  });
});
