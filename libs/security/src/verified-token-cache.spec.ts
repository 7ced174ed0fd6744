import type { Principal } from './principal';
import { permissionsOf } from './roles';
import { VerifiedTokenCache } from './verified-token-cache';

const principal = (subject: string): Principal => ({
  subject,
  tenantId: 'acme',
  roles: ['key-user'],
  permissions: permissionsOf(['key-user']),
  via: 'jwt',
});
const T0 = 1_800_000_000_000;

describe('VerifiedTokenCache', () => {
  it('remembers a verified token until its expiry or the TTL, whichever comes first', () => {
    const cache = new VerifiedTokenCache(60_000, 10);
    cache.set('token-a', principal('a'), T0 + 5_000, T0);
    cache.set('token-b', principal('b'), T0 + 3_600_000, T0);
    expect(cache.get('token-a', T0 + 4_999)?.subject).toBe('a');
    expect(cache.get('token-a', T0 + 5_000)).toBeUndefined();
    expect(cache.get('token-b', T0 + 59_999)?.subject).toBe('b');
    expect(cache.get('token-b', T0 + 60_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('knows nothing of a token that differs by one character', () => {
    const cache = new VerifiedTokenCache(60_000, 10);
    cache.set('token-a', principal('a'), T0 + 5_000, T0);
    expect(cache.get('token-A', T0)).toBeUndefined();
  });

  it('evicts the oldest entry when full', () => {
    const cache = new VerifiedTokenCache(60_000, 2);
    for (const name of ['a', 'b', 'c']) cache.set(`token-${name}`, principal(name), T0 + 5_000, T0);
    expect(cache.size).toBe(2);
    expect(cache.get('token-a', T0)).toBeUndefined();
    expect(cache.get('token-c', T0)?.subject).toBe('c');
  });

  it('hands out copies, so one request cannot widen the permissions another one sees', () => {
    const cache = new VerifiedTokenCache(60_000, 10);
    cache.set('token-a', principal('a'), T0 + 5_000, T0);
    (cache.get('token-a', T0)!.permissions as Set<string>).add('crypto:keys:manage');
    expect(cache.get('token-a', T0)!.permissions.has('crypto:keys:manage')).toBe(false);
  });

  it('stores nothing when disabled or when the token is already past its expiry', () => {
    const disabled = new VerifiedTokenCache(0, 10);
    disabled.set('token-a', principal('a'), T0 + 5_000, T0);
    expect(disabled.get('token-a', T0)).toBeUndefined();
    const cache = new VerifiedTokenCache(60_000, 10);
    cache.set('token-a', principal('a'), T0, T0);
    expect(cache.size).toBe(0);
  });
});
