import { ipBucket, normalizeIp, parseCidr, resolveClientIp, TrustedProxies } from './client-ip';

describe('normalizeIp', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['203.0.113.9:51234', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['::ffff:cb00:7109', '203.0.113.9'],
    ['[2001:DB8::1]:443', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    [' 198.51.100.7 ', '198.51.100.7'],
  ])('reads %s as %s', (raw, expected) => {
    expect(normalizeIp(raw)).toBe(expected);
  });

  it.each(['unknown', '_hidden', '', '300.1.1.1', '1.2.3', 'example.com', '[::1', '[::1]x'])('refuses %j', (raw) => {
    expect(normalizeIp(raw)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it('reads IPv4, IPv6, bare addresses and IPv4-mapped ranges', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 'ipv4' });
    expect(parseCidr('::ffff:10.0.0.0/104')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/8/1', 'proxy.internal', '10.0.0.0/-1', '10.0.0.0/ 8'])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('resolveClientIp: X-Forwarded-For is trusted only from configured proxies', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '2001:db8:1::/48']);

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy (spoofing)', () => {
    expect(resolveClientIp('198.51.100.7', '1.1.1.1', trusted)).toBe('198.51.100.7');
  });

  it('walks right to left past trusted proxies to the first untrusted hop', () => {
    expect(resolveClientIp('10.0.0.2', '203.0.113.9, 10.1.1.1', trusted)).toBe('203.0.113.9');
  });

  it('never reads entries left of the client, which the client wrote itself', () => {
    // The client sent "X-Forwarded-For: 10.9.9.9, 1.1.1.1"; our proxy appended the address it saw.
    expect(resolveClientIp('10.0.0.2', '10.9.9.9, 1.1.1.1, 203.0.113.9', trusted)).toBe('203.0.113.9');
  });

  it('joins repeated X-Forwarded-For fields in order', () => {
    expect(resolveClientIp('10.0.0.2', ['203.0.113.9', '10.1.1.1'], trusted)).toBe('203.0.113.9');
  });

  it('matches IPv6 CIDRs and IPv4-mapped peers', () => {
    expect(resolveClientIp('2001:db8:1:ff::5', '2001:db8:2::9', trusted)).toBe('2001:db8:2::9');
    expect(resolveClientIp('::ffff:10.0.0.2', '[2001:db8:3::1]:443', trusted)).toBe('2001:db8:3::1');
    expect(resolveClientIp('2001:db8:2::1', '203.0.113.9', trusted)).toBe('2001:db8:2::1');
  });

  it('takes the leftmost hop when every hop is a trusted proxy', () => {
    expect(resolveClientIp('10.0.0.2', '10.3.3.3, 10.2.2.2', trusted)).toBe('10.3.3.3');
  });

  it('stops at the last vouched-for address when a hop is not an address', () => {
    expect(resolveClientIp('10.0.0.2', '203.0.113.9, unknown, 10.2.2.2', trusted)).toBe('10.2.2.2');
  });

  it('uses the peer when there is no header, and nothing when there is no peer', () => {
    expect(resolveClientIp('10.0.0.2', undefined, trusted)).toBe('10.0.0.2');
    expect(resolveClientIp(undefined, '203.0.113.9', trusted)).toBeUndefined();
  });

  it('trusts no header at all without configured proxies', () => {
    expect(resolveClientIp('10.0.0.2', '203.0.113.9', new TrustedProxies([]))).toBe('10.0.0.2');
  });

  it('refuses a proxy list entry that is not a range', () => {
    expect(() => new TrustedProxies(['10.0.0.0/8', 'gateway'])).toThrow('"gateway"');
  });
});

describe('ipBucket', () => {
  it('keeps IPv4 addresses and groups IPv6 addresses by network', () => {
    expect(ipBucket('203.0.113.9', 64)).toBe('203.0.113.9');
    expect(ipBucket('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64)).toBe('2001:db8:1:2::/64');
    expect(ipBucket('2001:db8:1:2:ffff::1', 64)).toBe(ipBucket('2001:db8:1:2::9', 64));
    expect(ipBucket('2001:db8:1:2::9', 48)).toBe('2001:db8:1::/48');
    expect(ipBucket('2001:db8:1:2::9', 128)).toBe('2001:db8:1:2::9/128');
  });
});
