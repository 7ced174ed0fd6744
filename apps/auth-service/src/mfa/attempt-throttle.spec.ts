import { ipBucket, normalizeIp } from '@traceo/rate-limit';
import { MFA_THROTTLE_POLICY } from './attempt-throttle.policy';
import { AttemptThrottle, InMemoryLoginAttemptStore, ipThrottleKey, LoginThrottle, loginThrottleKey } from './attempt-throttle';

function setup() {
  let now = 1_764_000_000_000;
  const clock = () => now;
  const store = new InMemoryLoginAttemptStore(clock);
  return { store, throttle: new LoginThrottle(store, { clock }), clock, tick: (seconds: number) => (now += seconds * 1000) };
}

describe('LoginThrottle', () => {
  const alice = { tenantId: 'acme', login: 'alice@example.com', ip: '203.0.113.7' };

  it('backs off after five failed passwords and reports when to retry', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) await expect(throttle.admit(alice)).resolves.toEqual({ allowed: true });
    await expect(throttle.admit(alice)).resolves.toEqual({ allowed: false, reason: 'backoff', retryAfterSeconds: 30, scope: 'account' });
  });

  it('locks the account for 15 minutes at the tenth failure, from any IP', async () => {
    const { throttle, tick } = setup();
    for (let i = 0; i < 10; i++) {
      const decision = await throttle.admit(alice);
      if (!decision.allowed) {
        tick(decision.retryAfterSeconds);
        await throttle.admit(alice);
      }
    }
    await expect(throttle.admit({ ...alice, ip: '198.51.100.1' })).resolves.toEqual({
      allowed: false,
      reason: 'locked',
      retryAfterSeconds: 900,
      scope: 'account',
    });
    tick(900);
    await expect(throttle.admit(alice)).resolves.toEqual({ allowed: true });
  });

  it('clears the account on success', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) await throttle.admit(alice);
    await throttle.succeeded(alice);
    for (let i = 0; i < 5; i++) await expect(throttle.admit(alice)).resolves.toEqual({ allowed: true });
  });

  it('counts a burst of parallel attempts before any password is checked', async () => {
    const { throttle } = setup();
    const decisions = await Promise.all(Array.from({ length: 20 }, () => throttle.admit(alice)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
  });

  it('throttles one IP spraying many accounts, without locking those accounts', async () => {
    const { throttle, store, clock } = setup();
    for (let i = 0; i < 20; i++) await expect(throttle.admit({ ...alice, login: `user${i}` })).resolves.toEqual({ allowed: true });
    await expect(throttle.admit({ ...alice, login: 'user99' })).resolves.toEqual({
      allowed: false,
      reason: 'backoff',
      retryAfterSeconds: 1,
      scope: 'ip',
    });
    // The refused attempt did not touch user99's counter.
    await expect(new AttemptThrottle(store, throttle.account.policy, clock).peek('acme:user99')).resolves.toEqual({ allowed: true });
    await expect(store.get('login-account:acme:user99')).resolves.toBeUndefined();
  });

  it('gives back only its own attempt on the IP after a success', async () => {
    const { throttle, store } = setup();
    for (let i = 0; i < 3; i++) await throttle.admit({ ...alice, login: `user${i}` });
    await throttle.admit(alice);
    await throttle.succeeded(alice);
    await expect(store.get(`login-ip:${alice.ip}`)).resolves.toMatchObject({ failures: 3 });
  });

  it('throttles by login name alone when no client address is known', async () => {
    const { throttle, store } = setup();
    const noIp = { tenantId: 'acme', login: 'bob' };
    for (let i = 0; i < 5; i++) await expect(throttle.admit(noIp)).resolves.toEqual({ allowed: true });
    await expect(throttle.admit(noIp)).resolves.toMatchObject({ allowed: false, scope: 'account' });
    await throttle.succeeded(noIp);
    await expect(store.get('login-account:acme:bob')).resolves.toBeUndefined();
  });

  it('tells after a failure how long the name or the address must now wait', async () => {
    const { throttle, tick } = setup();
    for (let i = 0; i < 4; i++) await throttle.admit(alice);
    await expect(throttle.waitAfterFailure(alice)).resolves.toBe(0);
    await throttle.admit(alice);
    await expect(throttle.waitAfterFailure(alice)).resolves.toBe(30);
    tick(10);
    await expect(throttle.waitAfterFailure({ ...alice, login: 'someone-else' })).resolves.toBe(0);
    await expect(throttle.waitAfterFailure(alice)).resolves.toBe(20);
  });

  it('treats one IPv6 /64 as one client', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 20; i++) await throttle.admit({ ...alice, login: `user${i}`, ip: `2001:db8:1:2::${i.toString(16)}` });
    await expect(throttle.admit({ ...alice, login: 'x', ip: '2001:db8:1:2:ffff::1' })).resolves.toMatchObject({
      allowed: false,
      scope: 'ip',
    });
    await expect(throttle.admit({ ...alice, login: 'x', ip: '2001:db8:1:3::1' })).resolves.toEqual({ allowed: true });
  });

  it('keeps separate counters for the same login name in different tenants', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) await throttle.admit(alice);
    await expect(throttle.admit({ ...alice, tenantId: 'globex', ip: '198.51.100.9' })).resolves.toEqual({ allowed: true });
  });

  it('throttles unknown and differently-typed login names the same as real ones', async () => {
    const { throttle } = setup();
    for (const login of ['Alice@Example.com', ' alice@example.com', 'ALICE@EXAMPLE.COM', 'ａｌｉｃｅ@example.com', 'alice@example.com']) {
      await throttle.admit({ ...alice, login });
    }
    await expect(throttle.admit(alice)).resolves.toMatchObject({ allowed: false, scope: 'account' });
  });
});

describe('MFA attempts', () => {
  it('use the same backoff and lock per account under their own keys', async () => {
    const { store, clock } = setup();
    const mfa = new AttemptThrottle(store, MFA_THROTTLE_POLICY, clock);
    for (let i = 0; i < 5; i++) await mfa.admit('account-1');
    await expect(mfa.admit('account-1')).resolves.toEqual({ allowed: false, reason: 'backoff', retryAfterSeconds: 30 });
    await expect(store.get('mfa-account:account-1')).resolves.toMatchObject({ failures: 5 });
    await expect(store.get('mfa-account:account-1')).resolves.toMatchObject({ failures: 5 }); // a refusal is not charged
    await mfa.reset('account-1');
    await expect(mfa.peek('account-1')).resolves.toEqual({ allowed: true });
  });
});

describe('throttle keys', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['::1', '::/64'],
    ['[2001:db8:1:2::1]:443', '2001:db8:1:2::/64'],
    ['203.0.113.7:8080', '203.0.113.7'],
    ['Not An IP', 'other:not an ip'],
  ])('keys IP %j as %j', (ip, key) => {
    expect(ipThrottleKey(ip)).toBe(key);
  });

  it('buckets an address exactly as the rate limiter does', () => {
    for (const ip of ['203.0.113.7', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8::1'])
      expect(ipThrottleKey(ip)).toBe(ipBucket(normalizeIp(ip)!, 64));
  });

  it('folds case, width and surrounding space of login names', () => {
    expect(loginThrottleKey(' ＡＬＩＣＥ@Example.COM ')).toBe('alice@example.com');
  });
});
