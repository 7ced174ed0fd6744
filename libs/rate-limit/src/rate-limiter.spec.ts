import { MemoryStore } from './memory.store';
import type { RateLimitConfigInput } from './rate-limit.config';
import { RateLimitError } from './rate-limit.errors';
import { rateLimitProblem } from './rate-limit-problem';
import type { RateLimitRequest } from './rate-limit.request';
import type { RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';
import { RateLimiter, type RateLimiterOptions } from './rate-limiter';
import { requestBlockedEvent, requestBlockedV1Schema } from './request-blocked.event';

const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 3_600_000);
const KEY = 'test-identifier-key-0123456789';
const config: RateLimitConfigInput = {
  trusted_proxies: ['10.0.0.0/8'],
  rules: [
    { name: 'default', limit: [100], window_size: [60], failure_mode: 'open' },
    { name: 'api', limit: [10, 1000], window_size: [1, 3600], failure_mode: 'open', identifier: { type: 'credential' } },
    {
      name: 'login',
      algorithm: 'sliding-log',
      limit: [5],
      window_size: [60],
      failure_mode: 'closed',
      identifier: { type: 'ip' },
      tiers: { free: 1, standard: 1, premium: 1, enterprise: 1 },
    },
  ],
};
const member: RateLimitRequest = {
  remoteAddress: '198.51.100.7',
  headers: { 'user-agent': 'traceo-cli/1.0' },
  path: '/v1/things',
  consumer: { id: 'c-1', group: 'standard' },
  credential: 'sk_live_do-not-leak',
};

function setup(overrides: Partial<RateLimiterOptions> = {}) {
  const clock = { now: T0 };
  const limiter = new RateLimiter({
    config,
    store: new MemoryStore({ clock: () => clock.now }),
    identifierKey: KEY,
    clock: () => clock.now,
    cadence: false,
    ...overrides,
  });
  const burst = async (rule: string, request: RateLimitRequest, count: number) => {
    let allowed = 0;
    for (let i = 0; i < count; i += 1) if ((await limiter.check(rule, request)).allowed) allowed += 1;
    return allowed;
  };
  return { clock, limiter, burst };
}

/** A shared store that can be switched off, standing in for Redis going away. */
class SwitchableStore implements RateLimitStore {
  readonly kind = 'redis';
  up = true;
  calls = 0;
  constructor(private readonly inner: RateLimitStore) {}
  async decide(request: StoreRequest): Promise<StoreVerdict> {
    this.calls += 1;
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return this.inner.decide(request);
  }
}

describe('RateLimiter', () => {
  it('returns the IETF RateLimit-Policy and RateLimit fields', async () => {
    const { clock, limiter } = setup();
    clock.now = T0 + 17_000;
    const decision = await limiter.check('default', member);
    expect(decision).toMatchObject({ allowed: true, reason: 'within-limit', remaining: 99, reset: 43, degraded: false });
    expect(decision.headers).toEqual({ 'RateLimit-Policy': '"default";q=100;w=60', RateLimit: '"default";r=99;t=43' });
  });

  it('lists every limit of a rule and names the one that bound, with Retry-After', async () => {
    const { clock, limiter, burst } = setup();
    clock.now = T0 + 400;
    expect(await burst('api', member, 10)).toBe(10);
    const refused = await limiter.check('api', member);
    expect(refused).toMatchObject({ allowed: false, reason: 'limit-exceeded', retryAfter: 1, remaining: 0 });
    expect(refused.binding).toMatchObject({ policy: 'api-1s', limit: 10, window: 1, exceeded: true });
    expect(refused.headers).toEqual({
      'RateLimit-Policy': '"api-1s";q=10;w=1, "api-1h";q=1000;w=3600',
      // t of the hourly policy is shortened to Retry-After (draft section 6); r still says 990 are left.
      RateLimit: '"api-1s";r=0;t=1, "api-1h";r=990;t=1',
      'Retry-After': '1',
    });
    expect(refused.limits[1]).toMatchObject({ policy: 'api-1h', remaining: 990, reset: 3600, exceeded: false });
  });

  it('builds the 429 problem+json body without the identifier', async () => {
    const { limiter, burst } = setup();
    // Ten requests at the very start of a second: in the next one they still weigh 10 × (1 - f), so the
    // eleventh fits only from f = 0.1 on, 1.1 s from now.
    await burst('api', member, 10);
    const problem = rateLimitProblem(await limiter.check('api', member), { instance: '/v1/things', requestId: 'req-1' });
    expect(problem.status).toBe(429);
    expect(problem.headers).toMatchObject({ 'Content-Type': 'application/problem+json', 'Retry-After': '2' });
    expect(problem.headers.RateLimit).toContain('"api-1s";r=0');
    expect(problem.body).toEqual({
      type: 'https://traceo.dev/problems/rate-limit-exceeded',
      title: 'Too Many Requests',
      status: 429,
      code: 'RATE_LIMIT.EXCEEDED',
      detail: 'Rate limit "api-1s" (10 requests per 1 s) exceeded; retry after 2 s.',
      instance: '/v1/things',
      requestId: 'req-1',
      'violated-policies': ['api-1s'],
      retryAfter: 2,
    });
    const admitted = await limiter.check('default', member);
    expect(() => rateLimitProblem(admitted, { instance: '/' })).toThrow(RangeError);
  });

  it('describes a blocked request as an event payload carrying only the identifier hash', async () => {
    const { limiter, burst } = setup();
    await burst('api', member, 10);
    const event = requestBlockedEvent(await limiter.check('api', { ...member, endpointClass: 'search', riskScore: 12 }));
    expect(requestBlockedV1Schema.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      rule: 'api',
      policy: 'api-1s',
      limit: 10,
      window: 1,
      tier: 'standard',
      reason: 'limit-exceeded',
      identifier: { type: 'credential', source: 'credential', fallback: false },
      endpointClass: 'search',
      riskScore: 12,
    });
    expect(JSON.stringify(event)).not.toMatch(/do-not-leak|198\.51\.100\.7|c-1/);
  });

  it('keys spoofed X-Forwarded-For from an untrusted peer to the peer itself', async () => {
    const { burst } = setup();
    const browser = { 'user-agent': 'Mozilla/5.0', 'accept-language': 'en' };
    const spoofer = (forwarded: string): RateLimitRequest => ({
      remoteAddress: '198.51.100.7',
      headers: { ...browser, 'x-forwarded-for': forwarded },
      path: '/',
    });
    const admitted = (await burst('login', spoofer('1.1.1.1'), 3)) + (await burst('login', spoofer('2.2.2.2'), 3));
    expect(admitted).toBe(5);
    // Behind a trusted proxy the forwarded client is what counts.
    const viaProxy = (client: string): RateLimitRequest => ({
      remoteAddress: '10.0.0.2',
      headers: { ...browser, 'x-forwarded-for': client },
      path: '/',
    });
    expect((await burst('login', viaProxy('203.0.113.1'), 5)) + (await burst('login', viaProxy('203.0.113.2'), 5))).toBe(10);
  });

  it("takes the risk score from a trusted proxy's traceo-risk-score header, and from nobody else", async () => {
    const { burst } = setup();
    const rule = 'default';
    const risky = (remoteAddress: string, score: string, id: string): RateLimitRequest => ({
      ...member,
      remoteAddress,
      headers: { ...member.headers, 'traceo-risk-score': score },
      consumer: { id, group: 'standard' },
    });
    expect(await burst(rule, risky('10.1.2.3', '85', 'via-gateway'), 600)).toBe(20); // as riskScore: 85
    expect(await burst(rule, risky('198.51.100.9', '85', 'spoofed'), 600)).toBe(100); // not a trusted proxy
    for (const [value, id] of [
      ['101', 'over'],
      ['-5', 'negative'],
      ['85, 90', 'twice'],
      ['NaN', 'nan'],
    ])
      expect(await burst(rule, risky('10.1.2.3', value!, id!), 600)).toBe(100);
    // A score the caller gives itself wins over the header.
    expect(await burst(rule, { ...risky('10.1.2.3', '85', 'given'), riskScore: 0 }, 600)).toBe(100);
  });

  it('gives premium consumers more, and risky or bot-like callers less, than the standard tier', async () => {
    const { burst } = setup();
    const rule = 'default';
    expect(await burst(rule, { ...member, consumer: { id: 'p', group: 'premium' } }, 600)).toBe(500);
    expect(await burst(rule, { ...member, consumer: { id: 's', group: 'standard' } }, 600)).toBe(100);
    expect(await burst(rule, { ...member, consumer: { id: 'r', group: 'standard' }, riskScore: 85 }, 600)).toBe(20);
    expect(
      await burst(
        rule,
        { remoteAddress: '198.51.100.8', headers: { 'user-agent': 'Mozilla/5.0', 'accept-language': 'en' }, path: '/' },
        600,
      ),
    ).toBe(20);
    expect(await burst(rule, { remoteAddress: '198.51.100.9', headers: { 'user-agent': 'python-requests/2.32' }, path: '/' }, 600)).toBe(5);
  });

  it('flags metronomic callers as bot-like from their behaviour', async () => {
    const { clock, limiter } = setup({ cadence: undefined });
    const request: RateLimitRequest = {
      remoteAddress: '198.51.100.10',
      headers: { 'user-agent': 'Mozilla/5.0', 'accept-language': 'en' },
      path: '/',
    };
    let last = await limiter.check('default', request);
    for (let i = 1; i <= 12; i += 1) {
      clock.now = T0 + i * 250;
      last = await limiter.check('default', request);
    }
    expect(last.adjustment).toMatchObject({ botLike: true, botReasons: ['regular-cadence'] });
    expect(last.binding.limit).toBe(5); // free tier 20, bot factor 0.25
  });

  describe('when the shared store is unreachable', () => {
    it('fails open to local in-memory limits, pauses before retrying the store, and counts it', async () => {
      const shared = new SwitchableStore(new MemoryStore({ clock: () => clock.now }));
      const { clock, limiter, burst } = setup({ store: shared, storeRetryMs: 2_000 });
      expect(await burst('api', member, 4)).toBe(4);
      shared.up = false;
      const degraded = await limiter.check('api', member);
      expect(degraded).toMatchObject({ allowed: true, degraded: true });
      // Local limits still hold: the fallback starts empty, so 10 more pass in this second, then no more.
      expect(await burst('api', member, 20)).toBe(9);
      expect(shared.calls).toBe(5); // one failed attempt, then the pause
      expect(limiter.counters()).toEqual({
        storeErrors: 1,
        rules: {
          default: { allowed: 0, denied: 0, failedOpen: 0, failedClosed: 0 },
          api: { allowed: 14, denied: 11, failedOpen: 21, failedClosed: 0 },
          login: { allowed: 0, denied: 0, failedOpen: 0, failedClosed: 0 },
        },
      });
      shared.up = true;
      clock.now += 2_000;
      expect(await limiter.check('api', member)).toMatchObject({ allowed: true, degraded: false });
    });

    it('fails closed where the rule says so, with a 503 problem', async () => {
      const shared = new SwitchableStore(new MemoryStore());
      shared.up = false;
      const { limiter } = setup({ store: shared });
      const refused = await limiter.check('login', member);
      expect(refused).toMatchObject({ allowed: false, reason: 'store-unavailable', degraded: true, retryAfter: 1 });
      expect(refused.headers).toEqual({ 'RateLimit-Policy': '"login";q=5;w=60', 'Retry-After': '1' });
      const problem = rateLimitProblem(refused, { instance: '/login' });
      expect(problem.status).toBe(503);
      expect(problem.body.code).toBe('RATE_LIMIT.UNAVAILABLE');
      expect(requestBlockedEvent(refused).reason).toBe('store-unavailable');
      expect(limiter.counters().rules.login).toEqual({ allowed: 0, denied: 1, failedOpen: 0, failedClosed: 1 });
    });
  });

  it('refuses an unknown rule and an invalid configuration', async () => {
    const { limiter } = setup();
    await expect(limiter.check('nope', member)).rejects.toMatchObject({ code: 'RATE_LIMIT.UNKNOWN_RULE' });
    expect(
      () =>
        new RateLimiter({
          config: { rules: [{ name: 'x', limit: [1, 2], window_size: [1], failure_mode: 'open' }] },
          store: new MemoryStore(),
          identifierKey: KEY,
        }),
    ).toThrow(RateLimitError);
  });
});
