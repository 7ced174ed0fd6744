import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { Controller, Get, Module, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { decodeEvent, type TypedEvent } from '@traceo/contracts';
import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { openServiceDatabase } from '@traceo/persistence';
import { createRateLimitCluster, createRateLimitRedis } from '@traceo/rate-limit';
import { Public } from '@traceo/security';
import { createScratchSchema, loadInfraEnv, OwnRedisCluster, withClient } from '@traceo/testing';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { assembleServiceRuntime, baseConfigSchema, EventPublisher, loadConfig, RateLimit, ServiceKitModule } from '../src';
import { httpAuditMiddleware } from '../src/http-audit.middleware';

// The RateLimitGuard as every service runs it — ServiceKitModule.forRoot with the real AuthGuard,
// EventPublisher and outbox on PostgreSQL — against the shared Redis of tools/infra, and against a
// Redis that is not there. The outbox relay is never started: published events stay in the table.

const KEY = `it-${randomBytes(24).toString('hex')}`;
const AUTHORIZED = { authorization: `Bearer ${KEY}` };
const CLIENT = { 'user-agent': 'traceo-it/1.0' };
const RULES = JSON.stringify({
  rules: [
    { name: 'default', limit: [5], window_size: [60], failure_mode: 'open' },
    { name: 'login', limit: [3], window_size: [60], identifier: { type: 'ip' }, failure_mode: 'closed', default_tier: 'standard' },
  ],
});

@Controller('v1/widgets')
class WidgetsController {
  @Get()
  list(): string[] {
    return ['w-1'];
  }

  @Public()
  @RateLimit('login')
  @Post('sign-in')
  signIn(): { ok: true } {
    return { ok: true };
  }
}

interface RunningApp {
  readonly base: string;
  readonly logs: string[];
  close(): Promise<void>;
}

describe('RateLimitGuard in ServiceKitModule, with Redis and the PostgreSQL outbox', () => {
  const infra = loadInfraEnv();
  // The service name is the Redis key prefix's last part: unique per run, deleted afterwards.
  const service = `it-rate-limit-${randomBytes(3).toString('hex')}`;
  const identifierKey = randomBytes(32).toString('base64');
  let scratch: { schema: string; drop: () => Promise<void> };
  let redis: Redis;
  const apps: RunningApp[] = [];

  async function startApp(env: Record<string, string>): Promise<RunningApp> {
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(line) });
    const config = loadConfig(baseConfigSchema, {
      TRACEO_HTTP_PORT: '1',
      TRACEO_DATABASE_URL: infra.databaseUrl,
      TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      TRACEO_API_KEYS: `it-client:${KEY}`,
      TRACEO_LOG_LEVEL: 'warn',
      TRACEO_RATE_LIMIT_RULES: RULES,
      TRACEO_RATE_LIMIT_IDENTIFIER_KEY: identifierKey,
      ...env,
    });
    const dataSource = await openServiceDatabase({
      url: infra.databaseUrl,
      schema: scratch.schema,
      applicationName: service,
      migrations: [...MESSAGING_MIGRATIONS],
    });
    const runtime = assembleServiceRuntime(service, config, { dataSource, logger });
    @Module({ imports: [ServiceKitModule.forRoot(runtime)], controllers: [WidgetsController] })
    class AppModule {}
    const app: INestApplication = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
      logger: false,
    });
    app.use(httpAuditMiddleware(service, app.get(EventPublisher), logger));
    await app.listen(0, '127.0.0.1');
    const running = {
      base: `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`,
      logs,
      close: () => app.close(),
    };
    apps.push(running);
    return running;
  }

  async function outbox(type: string): Promise<TypedEvent[]> {
    return withClient(infra.databaseUrl, async (client) => {
      const { rows } = await client.query<{ payload: string }>(
        `SELECT payload FROM "${scratch.schema}".outbox WHERE topic = $1 ORDER BY seq`,
        [type],
      );
      return rows.map((row) => decodeEvent(Buffer.from(row.payload)));
    });
  }

  async function burst(url: string, count: number, init: RequestInit): Promise<Response[]> {
    const responses: Response[] = [];
    for (let i = 0; i < count; i += 1) responses.push(await fetch(url, init));
    return responses;
  }

  beforeAll(async () => {
    scratch = await createScratchSchema(infra.databaseUrl, 'it_rate_limit');
    redis = createRateLimitRedis(infra.redisUrl, { commandTimeout: 5000 });
  });

  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `traceo:rl:${service}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await scratch.drop();
    // ioredis ends the socket of a client that never connected (the closed port) on a 2 s timer.
    await new Promise((resolve) => setTimeout(resolve, 2100));
  });

  it('answers a burst beyond the limit with 429s, counts in Redis and leaves the event in the outbox', async () => {
    const app = await startApp({ TRACEO_REDIS_URL: infra.redisUrl });
    expect(app.logs.join('')).toContain('"redis":"connected"');

    const responses = await burst(`${app.base}/v1/widgets`, 8, { headers: { ...AUTHORIZED, ...CLIENT } });
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(responses[0]!.headers.get('ratelimit-policy')).toBe('"default";q=5;w=60');
    expect(responses[0]!.headers.get('ratelimit')).toMatch(/^"default";r=4;t=\d+$/);
    const refused = responses[5]!;
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);
    // t: until the quota next grows, never past Retry-After (draft section 6).
    const [, t] = /^"default";r=0;t=(\d+)$/.exec(refused.headers.get('ratelimit') ?? '') ?? [];
    expect(Number(t)).toBeGreaterThanOrEqual(1);
    expect(Number(t)).toBeLessThanOrEqual(Math.min(retryAfter, 60));
    expect(await refused.json()).toMatchObject({
      status: 429,
      code: 'RATE_LIMIT.EXCEEDED',
      instance: '/v1/widgets',
      'violated-policies': ['default'],
      retryAfter,
    });

    // Counted in the shared Redis under this service's prefix; no raw identifier in the key.
    const keys = await redis.keys(`traceo:rl:${service}:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^traceo:rl:${service}:\\{default:sliding-window:[A-Za-z0-9_-]{22}\\}$`));
    expect(keys[0]).not.toContain('it-client');

    // Three refusals within a second: one event (the others are debounced).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const events = await outbox('traceo.gateway.request-blocked.v1');
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeLessThanOrEqual(2);
    expect(events[0]).toMatchObject({
      source: `/traceo/${service}`,
      tenantid: 'platform',
      data: {
        rule: 'default',
        identifier: { type: 'consumer', source: 'consumer', fallback: false },
        limit: 5,
        window: 60,
        tier: 'standard',
        reason: 'limit-exceeded',
        degraded: false,
        request: { method: 'GET', route: '/v1/widgets' },
      },
    });
    // And each 429 is audited as denied.
    const audited = (await outbox('traceo.audit.record.v1')).map((event) => event.data as { status: string; resultCode?: string });
    expect(audited.filter((record) => record.resultCode === '429').map((record) => record.status)).toEqual(['denied', 'denied', 'denied']);
  });

  it('shares the budget between instances on one Redis', async () => {
    const [a, b] = [await startApp({ TRACEO_REDIS_URL: infra.redisUrl }), await startApp({ TRACEO_REDIS_URL: infra.redisUrl })];
    const init = { method: 'POST', headers: CLIENT };
    expect((await burst(`${a.base}/v1/widgets/sign-in`, 2, init)).map((response) => response.status)).toEqual([201, 201]);
    expect((await burst(`${b.base}/v1/widgets/sign-in`, 2, init)).map((response) => response.status)).toEqual([201, 429]);
  });

  it('with TRACEO_REDIS_CLUSTER=true, limits through a three-master Redis Cluster named by one seed node', async () => {
    const cluster = await OwnRedisCluster.start(3);
    try {
      const seed = `redis://127.0.0.1:${cluster.ports[1]}`;
      const [one, two] = [
        await startApp({ TRACEO_REDIS_URL: seed, TRACEO_REDIS_CLUSTER: 'true' }),
        await startApp({ TRACEO_REDIS_URL: seed, TRACEO_REDIS_CLUSTER: 'true' }),
      ];
      expect(one.logs.join('')).toContain('"store":"redis","redis":"connected","cluster":true');
      // The default rule (5 a minute per principal) shared by both instances, then per-IP `login` (3).
      const widgets = [
        ...(await burst(`${one.base}/v1/widgets`, 3, { headers: { ...AUTHORIZED, ...CLIENT } })),
        ...(await burst(`${two.base}/v1/widgets`, 4, { headers: { ...AUTHORIZED, ...CLIENT } })),
      ];
      expect(widgets.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const signIns = await burst(`${two.base}/v1/widgets/sign-in`, 4, { method: 'POST', headers: CLIENT });
      expect(signIns.map((response) => response.status)).toEqual([201, 201, 201, 429]);
      // The counters are in the cluster, each key on the master of its hash tag's slot.
      const client = createRateLimitCluster(cluster.nodes);
      try {
        await once(client, 'ready');
        const keys: string[] = [];
        for (const node of client.nodes('master')) keys.push(...(await node.keys(`traceo:rl:${service}:*`)));
        expect(keys.sort()).toEqual([
          expect.stringMatching(new RegExp(`^traceo:rl:${service}:\\{default:sliding-window:[A-Za-z0-9_-]{22}\\}$`)),
          expect.stringMatching(new RegExp(`^traceo:rl:${service}:\\{login:sliding-window:[A-Za-z0-9_-]{22}\\}$`)),
        ]);
      } finally {
        client.disconnect();
      }
      await Promise.all([one.close(), two.close()]);
    } finally {
      await cluster.stop();
    }
  });

  it('applies each rule’s failure mode when Redis is unreachable', async () => {
    const closedPort = await unusedPort();
    const app = await startApp({ TRACEO_REDIS_URL: `redis://127.0.0.1:${closedPort}` });
    expect(app.logs.join('')).toContain('"redis":"unreachable');
    const before = (await outbox('traceo.gateway.request-blocked.v1')).length;

    // default fails open: still limited, by this instance's memory.
    const open = await burst(`${app.base}/v1/widgets`, 6, { headers: { ...AUTHORIZED, ...CLIENT } });
    expect(open.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 429]);
    // login fails closed: refused with 503 until Redis answers.
    const closed = await fetch(`${app.base}/v1/widgets/sign-in`, { method: 'POST', headers: CLIENT });
    expect(closed.status).toBe(503);
    expect(closed.headers.get('retry-after')).toBe('1');
    expect(await closed.json()).toMatchObject({ status: 503, code: 'RATE_LIMIT.UNAVAILABLE' });

    await new Promise((resolve) => setTimeout(resolve, 200));
    // Written concurrently by the two refusals: either may come first in the outbox.
    const events = (await outbox('traceo.gateway.request-blocked.v1')).slice(before);
    expect(events.map((event) => event.data)).toHaveLength(2);
    expect(events.map((event) => event.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'default', reason: 'limit-exceeded', degraded: true }),
        expect.objectContaining({ rule: 'login', reason: 'store-unavailable', degraded: true }),
      ]),
    );
    const metrics = await (await fetch(`${app.base}/metrics`)).text();
    expect(metrics).toMatch(/traceo_rate_limit_store_unavailable_total\{rule="login",failure_mode="closed",service="[^"]+"\} 1/);
    expect(metrics).toMatch(/traceo_rate_limit_store_errors_total\{service="[^"]+"\} [1-9]/);
  });
});

async function unusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
