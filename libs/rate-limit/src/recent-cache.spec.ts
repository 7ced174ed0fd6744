import { UserAgentSignals, userAgentSignals } from './bot-detection';
import { TrustedProxies } from './client-ip';
import { IdentifierHasher, RequestFacts, resolveIdentifier, RuleIdentities } from './identifiers';
import type { RateLimitRequest } from './rate-limit.request';
import { RecentCache } from './recent-cache';

describe('RecentCache', () => {
  it('keeps what was used within the last half of its bound and forgets older entries', () => {
    const cache = new RecentCache<number>(4);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3); // the young generation (a, b) becomes old
    expect(cache.get('a')).toBe(1); // promoted back to the young generation
    cache.set('d', 4); // young (c, a) becomes old; b is dropped
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
    expect(cache.size).toBeLessThanOrEqual(4);
  });

  it('refuses a bound below 2', () => {
    expect(() => new RecentCache(1)).toThrow(RangeError);
  });
});

describe('UserAgentSignals', () => {
  it('gives the same reasons as userAgentSignals, for repeated agents too', () => {
    const signals = new UserAgentSignals(4);
    const requests: RateLimitRequest[] = [
      { headers: {}, path: '/' },
      { headers: { 'user-agent': 'curl/8.5.0' }, path: '/' },
      { headers: { 'user-agent': 'Mozilla/5.0 Googlebot/2.1' }, path: '/' },
      { headers: { 'user-agent': 'Mozilla/5.0 (X11) Firefox/133.0', 'accept-language': 'en' }, path: '/' },
      { headers: { 'user-agent': 'Mozilla/5.0 (X11) Firefox/133.0' }, path: '/' },
      { headers: { 'user-agent': '  traceo-cli/1.0 ' }, path: '/' },
    ];
    for (const request of [...requests, ...requests]) expect(signals.of(request)).toEqual(userAgentSignals(request));
  });
});

describe('RuleIdentities', () => {
  const context = { trustedProxies: new TrustedProxies([]), ipv6Subnet: 64 };
  const hasher = new IdentifierHasher('0123456789abcdef-identities');

  it('resolves a returning caller to the same identity, keyed by rule and hash', () => {
    const identities = new RuleIdentities({ type: 'consumer' }, 'api:sliding-window:', hasher, 16);
    const member: RateLimitRequest = { remoteAddress: '198.51.100.7', headers: {}, path: '/', consumer: { id: 'c-1' } };
    const first = identities.identify(new RequestFacts(member, context));
    expect(first.identifier).toEqual({ type: 'consumer', source: 'consumer', fallback: false, hash: hasher.hash('consumer=c-1') });
    expect(first.key).toBe(`api:sliding-window:${first.identifier.hash}`);
    expect(identities.identify(new RequestFacts({ ...member }, context))).toBe(first);
  });

  it('keeps fallbacks and compound identifiers apart from the source they fell back from', () => {
    const identities = new RuleIdentities({ type: 'consumer' }, 'p:', hasher, 16);
    const anonymous: RateLimitRequest = { remoteAddress: '198.51.100.7', headers: {}, path: '/' };
    const byIp = identities.identify(new RequestFacts(anonymous, context));
    expect(byIp.identifier).toMatchObject({ source: 'ip', fallback: true, hash: hasher.hash('ip=198.51.100.7') });
    const consumerNamedLikeTheIp = { ...anonymous, consumer: { id: '198.51.100.7' } };
    expect(identities.identify(new RequestFacts(consumerNamedLikeTheIp, context)).key).not.toBe(byIp.key);

    const compound = new RuleIdentities({ type: 'compound', parts: [{ type: 'consumer' }, { type: 'route' }] }, 'p:', hasher, 16);
    const routed = { ...anonymous, consumer: { id: 'c-1' }, route: '/v1/things/:id' };
    const resolved = resolveIdentifier(
      { type: 'compound', parts: [{ type: 'consumer' }, { type: 'route' }] },
      new RequestFacts(routed, context),
    );
    expect(compound.identify(new RequestFacts(routed, context)).identifier).toEqual({
      type: 'compound',
      source: resolved.source,
      fallback: false,
      hash: hasher.hash(resolved.value),
    });
  });
});
