import { Controller, Get, Module, Post, type INestApplication, type Type } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { createEvent, type EventData, type EventType, type TypedEvent } from '@traceo/contracts';
import type { RateLimitStore, StoreVerdict } from '@traceo/rate-limit';
import { Public, RequirePermissions } from '@traceo/security';
import { TestTokenIssuer } from '@traceo/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { AUTH_PROVIDERS } from '../auth.providers';
import { baseConfigSchema, ConfigurationError, loadConfig } from '../config';
import { EventPublisher, type AuditEntry } from '../event-publisher';
import { httpAuditMiddleware } from '../http-audit.middleware';
import { ProblemDetailsFilter } from '../problem-details.filter';
import { SERVICE_RUNTIME, type ServiceRuntime } from '../service-runtime';
import { RateLimit, SkipRateLimit } from './rate-limit.decorators';
import { RATE_LIMIT_PROVIDERS } from './rate-limit.providers';
import { RATE_LIMIT_OVERRIDES, type RateLimitOverrides } from './rate-limit.runtime';

// An aligned instant: every window of the tests starts here, so `t` values are whole windows.
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 3_600_000);
const KEY = 'k3y-of-at-least-thirty-two-characters-long';
const OTHER_KEY = 'another-key-of-thirty-two-characters!!';
const AS_CONSOLE = { authorization: `Bearer ${KEY}` };
const AS_CI = { authorization: `Bearer ${OTHER_KEY}` };
// A client UA without bot signals, so anonymous limits are not scaled down by the heuristics.
const BROWSER = { 'user-agent': 'traceo-console/1.0' };

/** Rules for the routes of DeclaredController; `default` is tight so bursts are short. */
const RULES = JSON.stringify({
  rules: [
    { name: 'default', limit: [3, 100], window_size: [1, 60], failure_mode: 'open' },
    { name: 'anonymous', limit: [2], window_size: [60], identifier: { type: 'ip' }, failure_mode: 'open', default_tier: 'standard' },
    { name: 'export', limit: [10], window_size: [60], failure_mode: 'open', endpoint_classes: { bulk: 0.5 } },
    { name: 'login', limit: [5], window_size: [60], identifier: { type: 'ip' }, failure_mode: 'closed', default_tier: 'standard' },
  ],
});

@Controller('things')
class PlainController {
  @Get()
  list(): string[] {
    return ['a'];
  }
}

@Controller('things')
class DeclaredController {
  @Get()
  list(): string[] {
    return ['a'];
  }

  @Public()
  @Get('public')
  open(): string {
    return 'ok';
  }

  @RequirePermissions()
  @RateLimit('export', { endpointClass: 'bulk' })
  @Get('export')
  exportAll(): string {
    return 'rows';
  }

  @Public()
  @RateLimit('login')
  @Post('login')
  login(): string {
    return 'welcome';
  }

  @SkipRateLimit()
  @Get('unlimited')
  unlimited(): string {
    return 'ok';
  }
}

@Public()
@Controller('v1/things')
class InfoController {
  @Get('info')
  info(): { service: string } {
    return { service: 'test-service' };
  }
}

@Controller('misdeclared')
class MisdeclaredController {
  @RateLimit('no-such-rule')
  @Get()
  get(): string {
    return 'never';
  }
}

/** A shared store that does not answer, standing in for Redis being down. */
class UnreachableStore implements RateLimitStore {
  readonly kind = 'redis';
  calls = 0;
  decide(): Promise<StoreVerdict> {
    this.calls += 1;
    return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
  }
}

interface Harness {
  readonly base: string;
  readonly clock: { now: number };
  readonly published: TypedEvent[];
  readonly audited: AuditEntry[];
  readonly metrics: Registry;
  close(): Promise<void>;
}

/**
 * A tiny app wired as ServiceKitModule wires every service: AUTH_PROVIDERS, EventPublisher,
 * RATE_LIMIT_PROVIDERS (in that order), ProblemDetailsFilter, the HTTP audit middleware, config from
 * the environment. The publisher keeps events in memory; the limiter runs on a fake clock.
 */
async function startApp(env: Record<string, string>, controllers: Type[], overrides: RateLimitOverrides = {}): Promise<Harness> {
  const config = loadConfig(baseConfigSchema, {
    TRACEO_HTTP_PORT: '1',
    TRACEO_DATABASE_URL: 'postgres://unused@127.0.0.1/unused',
    TRACEO_KAFKA_BROKERS: '127.0.0.1:1',
    TRACEO_API_KEYS: `console:${KEY},ci:${OTHER_KEY}`,
    ...env,
  });
  const clock = { now: T0 };
  const published: TypedEvent[] = [];
  const audited: AuditEntry[] = [];
  const logger = pino({ level: 'silent' });
  const metrics = new Registry();
  const runtime = { name: 'test-service', config, logger, metrics } as unknown as ServiceRuntime;
  const publisher = {
    event: <T extends EventType>(type: T, tenantid: string, data: EventData<T>, extra = {}) =>
      createEvent({ type, source: '/traceo/test-service', tenantid, data, ...extra }),
    publish: (events: readonly TypedEvent[]) => {
      published.push(...events);
      return Promise.resolve();
    },
    audit: (entry: AuditEntry) => {
      audited.push(entry);
      return Promise.resolve();
    },
  };
  @Module({
    imports: [DiscoveryModule],
    controllers,
    providers: [
      { provide: SERVICE_RUNTIME, useValue: runtime },
      { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ...AUTH_PROVIDERS,
      { provide: EventPublisher, useValue: publisher },
      ...RATE_LIMIT_PROVIDERS,
      { provide: RATE_LIMIT_OVERRIDES, useValue: { clock: () => clock.now, cadence: false, ...overrides } },
    ],
  })
  class TestModule {}
  const app: INestApplication = (await Test.createTestingModule({ imports: [TestModule] }).compile()).createNestApplication({
    logger: false,
  });
  app.use(httpAuditMiddleware('test-service', publisher as unknown as EventPublisher, logger));
  await app.listen(0, '127.0.0.1');
  return {
    base: `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`,
    clock,
    published,
    audited,
    metrics,
    close: () => app.close(),
  };
}

async function burst(url: string, count: number, init: RequestInit = {}): Promise<Response[]> {
  const responses: Response[] = [];
  for (let i = 0; i < count; i += 1) responses.push(await fetch(url, init));
  return responses;
}

const statuses = (responses: readonly Response[]) => responses.map((response) => response.status);

/** Let the fire-and-forget event writes and the after-response audit records land. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('RateLimitGuard with the default rules', () => {
  let app: Harness;

  beforeAll(async () => (app = await startApp({}, [PlainController, InfoController])));
  afterAll(() => app.close());

  it('puts RateLimit-Policy and RateLimit on admitted responses: 100 per second and 3,000 per minute per principal', async () => {
    const first = await fetch(`${app.base}/things`, { headers: AS_CONSOLE });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"default-1s";q=100;w=1, "default-1m";q=3000;w=60');
    expect(first.headers.get('ratelimit')).toBe('"default-1s";r=99;t=1, "default-1m";r=2999;t=60');
    expect(first.headers.get('retry-after')).toBeNull();
    const second = await fetch(`${app.base}/things`, { headers: AS_CONSOLE });
    expect(second.headers.get('ratelimit')).toBe('"default-1s";r=98;t=1, "default-1m";r=2998;t=60');
  });

  it('never limits the service info endpoint, health or metrics', async () => {
    const info = await burst(`${app.base}/v1/things/info`, 25, { headers: BROWSER });
    expect(statuses(info)).toEqual(info.map(() => 200));
    expect(info[0]!.headers.get('ratelimit-policy')).toBeNull();
  });

  it('refuses an unauthenticated call before limiting it (the AuthGuard runs first)', async () => {
    const response = await fetch(`${app.base}/things`);
    expect(response.status).toBe(401);
    expect(response.headers.get('ratelimit-policy')).toBeNull();
  });
});

describe('RateLimitGuard refusals', () => {
  let app: Harness;

  beforeEach(async () => (app = await startApp({ TRACEO_RATE_LIMIT_RULES: RULES }, [DeclaredController, InfoController])));
  afterEach(() => app.close());

  it('answers a burst beyond the limit with 429 problem+json, Retry-After and the RateLimit fields', async () => {
    const responses = await burst(`${app.base}/things?page=2`, 5, { headers: AS_CONSOLE });
    expect(statuses(responses)).toEqual([200, 200, 200, 429, 429]);
    const refused = responses[3]!;
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // The counter's estimate at the start of the next second is still 3: room comes a third of the way in.
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.headers.get('ratelimit-policy')).toBe('"default-1s";q=3;w=1, "default-1m";q=100;w=60');
    expect(refused.headers.get('ratelimit')).toBe('"default-1s";r=0;t=1, "default-1m";r=97;t=2');
    expect(await refused.json()).toEqual({
      type: 'https://traceo.dev/problems/rate-limit-exceeded',
      title: 'Too Many Requests',
      status: 429,
      code: 'RATE_LIMIT.EXCEEDED',
      detail: 'Rate limit "default-1s" (3 requests per 1 s) exceeded; retry after 2 s.',
      instance: '/things',
      'violated-policies': ['default-1s'],
      retryAfter: 2,
    });
  });

  it('admits again once Retry-After has passed', async () => {
    const responses = await burst(`${app.base}/things`, 4, { headers: AS_CONSOLE });
    app.clock.now += 1000;
    expect((await fetch(`${app.base}/things`, { headers: AS_CONSOLE })).status).toBe(429);
    app.clock.now = T0 + Number(responses[3]!.headers.get('retry-after')) * 1000;
    expect((await fetch(`${app.base}/things`, { headers: AS_CONSOLE })).status).toBe(200);
  });

  it('limits each principal on its own', async () => {
    expect(statuses(await burst(`${app.base}/things`, 4, { headers: AS_CONSOLE }))).toEqual([200, 200, 200, 429]);
    expect(statuses(await burst(`${app.base}/things`, 3, { headers: AS_CI }))).toEqual([200, 200, 200]);
  });

  it('audits a 429 as denied, with the principal as actor', async () => {
    await burst(`${app.base}/things`, 4, { headers: AS_CONSOLE });
    await settle();
    expect(app.audited.map((entry) => [entry.status, entry.resultCode])).toEqual([
      ['success', '200'],
      ['success', '200'],
      ['success', '200'],
      ['denied', '429'],
    ]);
    expect(app.audited[3]!.actor).toEqual({ type: 'api-client', id: 'console' });
  });

  it('limits unauthenticated calls per client IP under the anonymous rule', async () => {
    const responses = await burst(`${app.base}/things/public`, 3, { headers: BROWSER });
    expect(statuses(responses)).toEqual([200, 200, 429]);
    expect(responses[0]!.headers.get('ratelimit-policy')).toBe('"anonymous";q=2;w=60');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const spoofed = await Promise.all(
      ['203.0.113.1', '203.0.113.2', '203.0.113.3'].map((ip) =>
        fetch(`${app.base}/things/public`, { headers: { ...BROWSER, 'x-forwarded-for': ip } }),
      ),
    );
    // Three different claimed clients, one real peer (127.0.0.1): one bucket of two.
    expect(statuses(spoofed).sort()).toEqual([200, 200, 429]);
  });

  it('uses the named rule and endpoint class of @RateLimit()', async () => {
    const response = await fetch(`${app.base}/things/export`, { headers: AS_CONSOLE });
    expect(response.headers.get('ratelimit-policy')).toBe('"export";q=5;w=60');
  });

  it('leaves @SkipRateLimit() routes alone', async () => {
    const responses = await burst(`${app.base}/things/unlimited`, 6, { headers: AS_CONSOLE });
    expect(statuses(responses)).toEqual(responses.map(() => 200));
    expect(responses[0]!.headers.get('ratelimit-policy')).toBeNull();
  });

  it('publishes one request-blocked event per identifier and rule per second, counting the rest', async () => {
    await burst(`${app.base}/things`, 10, { headers: { ...AS_CONSOLE, traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` } });
    await settle();
    expect(app.published).toHaveLength(1);
    const [event] = app.published;
    expect(event).toMatchObject({
      type: 'traceo.gateway.request-blocked.v1',
      source: '/traceo/test-service',
      tenantid: 'platform',
      traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      data: {
        occurredAt: new Date(T0).toISOString(),
        rule: 'default',
        policy: 'default-1s',
        algorithm: 'sliding-window',
        identifier: { type: 'consumer', source: 'consumer', fallback: false },
        limit: 3,
        window: 1,
        tier: 'standard',
        reason: 'limit-exceeded',
        retryAfter: 2,
        botLike: false,
        degraded: false,
        request: { method: 'GET', route: '/things' },
      },
    });
    const data = event!.data as { identifier: { hash: string }; suppressed?: number };
    expect(data.identifier.hash).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(event)).not.toContain('console');
    expect(data.suppressed).toBeUndefined();

    // Another principal is another identifier: its own event in the same second.
    await burst(`${app.base}/things`, 4, { headers: AS_CI });
    await settle();
    expect(app.published).toHaveLength(2);

    // A second later the same principal is refused again (the counter still remembers the full second): a new event.
    app.clock.now += 1000;
    expect(statuses(await burst(`${app.base}/things`, 1, { headers: AS_CONSOLE }))).toEqual([429]);
    await settle();
    expect(app.published).toHaveLength(3);
    expect(app.published[2]!.data).toMatchObject({ rule: 'default', suppressed: 6, identifier: { hash: data.identifier.hash } });
  });

  it('exports the decisions as Prometheus counters per rule', async () => {
    await burst(`${app.base}/things`, 5, { headers: AS_CONSOLE });
    await settle();
    const text = await app.metrics.metrics();
    expect(text).toContain('traceo_rate_limit_decisions_total{rule="default",outcome="allowed"} 3');
    expect(text).toContain('traceo_rate_limit_decisions_total{rule="default",outcome="denied"} 2');
    expect(text).toContain('traceo_rate_limit_store_unavailable_total{rule="login",failure_mode="closed"} 0');
    expect(text).toContain('traceo_rate_limit_store_errors_total 0');
    expect(text).toContain('traceo_rate_limit_blocked_events_total{outcome="published"} 1');
    expect(text).toContain('traceo_rate_limit_blocked_events_total{outcome="suppressed"} 1');
    // A second scrape does not count again.
    expect(await app.metrics.metrics()).toContain('traceo_rate_limit_decisions_total{rule="default",outcome="allowed"} 3');
  });
});

describe('RateLimitGuard tiers', () => {
  let issuer: TestTokenIssuer;
  let app: Harness;

  beforeAll(async () => {
    issuer = await TestTokenIssuer.create();
    app = await startApp(
      {
        TRACEO_RATE_LIMIT_RULES: RULES,
        TRACEO_RATE_LIMIT_CLIENT_TIERS: 'ci:premium',
        TRACEO_JWT_ISSUER: issuer.issuer,
        TRACEO_JWT_AUDIENCE: issuer.audience,
        TRACEO_JWT_JWKS: JSON.stringify(issuer.jwks()),
      },
      [DeclaredController],
    );
  });
  afterAll(() => app.close());

  const policyFor = async (headers: Record<string, string>) =>
    (await fetch(`${app.base}/things/export`, { headers })).headers.get('ratelimit-policy');

  it('gives an API client its configured tier, and others standard', async () => {
    expect(await policyFor(AS_CI)).toBe('"export";q=25;w=60'); // 10 × premium 5 × bulk 0.5
    expect(await policyFor(AS_CONSOLE)).toBe('"export";q=5;w=60');
  });

  it("takes a token's tier:<name> scope", async () => {
    const token = await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['auditor'], scope: 'openid tier:enterprise' });
    expect(await policyFor({ authorization: `Bearer ${token}` })).toBe('"export";q=100;w=60'); // 10 × 20 × 0.5
    const plain = await issuer.issue({ sub: 'bob', tenantId: 'acme', roles: ['auditor'], scope: 'tier:gold' });
    expect(await policyFor({ authorization: `Bearer ${plain}` })).toBe('"export";q=5;w=60');
  });
});

describe('RateLimitGuard behind a trusted proxy', () => {
  let app: Harness;

  beforeAll(
    async () =>
      (app = await startApp({ TRACEO_RATE_LIMIT_RULES: RULES, TRACEO_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8' }, [DeclaredController])),
  );
  afterAll(() => app.close());

  it('limits the client the proxy saw, per X-Forwarded-For', async () => {
    const from = (xff: string) => burst(`${app.base}/things/public`, 3, { headers: { ...BROWSER, 'x-forwarded-for': xff } });
    expect(statuses(await from('203.0.113.1'))).toEqual([200, 200, 429]);
    expect(statuses(await from('203.0.113.2'))).toEqual([200, 200, 429]);
    // What the client wrote left of the proxy's entry does not pick the bucket.
    expect(statuses(await from('198.51.100.9, 203.0.113.1'))).toEqual([429, 429, 429]);
  });
});

describe('RateLimitGuard without its shared store', () => {
  let app: Harness;
  let store: UnreachableStore;

  beforeEach(async () => {
    store = new UnreachableStore();
    app = await startApp({ TRACEO_RATE_LIMIT_RULES: RULES }, [DeclaredController], { store, storeRetryMs: 1000 });
  });
  afterEach(() => app.close());

  it('fails open: a fail-open rule is enforced per instance by the in-memory fallback', async () => {
    const responses = await burst(`${app.base}/things`, 4, { headers: AS_CONSOLE });
    expect(statuses(responses)).toEqual([200, 200, 200, 429]);
    expect(responses[0]!.headers.get('ratelimit')).toBe('"default-1s";r=2;t=1, "default-1m";r=99;t=60');
    await settle();
    expect(app.published[0]!.data).toMatchObject({ rule: 'default', reason: 'limit-exceeded', degraded: true });
    const text = await app.metrics.metrics();
    expect(text).toContain('traceo_rate_limit_store_unavailable_total{rule="default",failure_mode="open"} 4');
    // One store error, then the limiter leaves the store alone for storeRetryMs (the fake clock stands still).
    expect(store.calls).toBe(1);
    expect(text).toContain('traceo_rate_limit_store_errors_total 1');
  });

  it('fails closed: a fail-closed rule answers 503 RATE_LIMIT.UNAVAILABLE with Retry-After, and reports it', async () => {
    const response = await fetch(`${app.base}/things/login`, { method: 'POST', headers: BROWSER });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('ratelimit-policy')).toBe('"login";q=5;w=60');
    expect(await response.json()).toMatchObject({ status: 503, code: 'RATE_LIMIT.UNAVAILABLE' });
    await settle();
    expect(app.published.at(-1)!.data).toMatchObject({ rule: 'login', reason: 'store-unavailable', degraded: true });
    expect(await app.metrics.metrics()).toContain('traceo_rate_limit_store_unavailable_total{rule="login",failure_mode="closed"} 1');
  });
});

describe('RateLimitGuard configuration', () => {
  it('is off with TRACEO_RATE_LIMIT_ENABLED=false', async () => {
    const app = await startApp({ TRACEO_RATE_LIMIT_RULES: RULES, TRACEO_RATE_LIMIT_ENABLED: 'false' }, [DeclaredController]);
    try {
      const responses = await burst(`${app.base}/things`, 6, { headers: AS_CONSOLE });
      expect(statuses(responses)).toEqual(responses.map(() => 200));
      expect(responses[0]!.headers.get('ratelimit-policy')).toBeNull();
      expect(await app.metrics.metrics()).not.toContain('traceo_rate_limit_decisions_total');
    } finally {
      await app.close();
    }
  });

  it('refuses to start when a @RateLimit() names a rule that is not configured', async () => {
    const started = startApp({}, [MisdeclaredController]);
    await expect(started).rejects.toThrow(ConfigurationError);
    await expect(started).rejects.toThrow(
      "TRACEO_RATE_LIMIT_RULES defines no rule for @RateLimit('no-such-rule') on MisdeclaredController.get (rules: default, anonymous)",
    );
  });
});
