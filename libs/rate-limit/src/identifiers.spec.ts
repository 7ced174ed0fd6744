import { TrustedProxies } from './client-ip';
import { IdentifierHasher, RequestFacts, resolveIdentifier } from './identifiers';
import type { IdentifierSpec } from './rate-limit.config';
import type { RateLimitRequest } from './rate-limit.request';

const context = { trustedProxies: new TrustedProxies(['10.0.0.0/8']), ipv6Subnet: 64 };
const full: RateLimitRequest = {
  remoteAddress: '10.0.0.2',
  headers: { 'x-forwarded-for': '203.0.113.9', 'x-tenant': 'acme', 'user-agent': 'app/1.0' },
  path: '/v1/keyrings/42',
  route: '/v1/keyrings/:id',
  consumer: { id: 'consumer-7', group: 'premium' },
  credential: 'key-id-3',
};

function resolve(spec: IdentifierSpec, request: RateLimitRequest) {
  return resolveIdentifier(spec, new RequestFacts(request, context));
}

describe('identifiers', () => {
  it.each<[IdentifierSpec, string, string]>([
    [{ type: 'consumer' }, 'consumer', 'consumer=consumer-7'],
    [{ type: 'credential' }, 'credential', 'credential=key-id-3'],
    [{ type: 'ip' }, 'ip', 'ip=203.0.113.9'],
    [{ type: 'header', header_name: 'x-tenant' }, 'header', 'header=acme'],
    [{ type: 'path' }, 'path', 'path=/v1/keyrings/42'],
    [{ type: 'route' }, 'route', 'route=/v1/keyrings/:id'],
  ])('reads %j from the request', (spec, source, value) => {
    expect(resolve(spec, full)).toEqual({ type: spec.type, source, fallback: false, value });
  });

  it('combines parts for a compound identifier', () => {
    expect(resolve({ type: 'compound', parts: [{ type: 'consumer' }, { type: 'route' }] }, full)).toEqual({
      type: 'compound',
      source: 'compound(consumer+route)',
      fallback: false,
      value: 'consumer=consumer-7\u0000route=/v1/keyrings/:id',
    });
  });

  describe('fallbacks never share one global bucket', () => {
    const anonymous: RateLimitRequest = { remoteAddress: '198.51.100.7', headers: {}, path: '/v1/x' };

    it('falls back from consumer to credential, then to the client IP', () => {
      const { consumer: _consumer, ...withoutConsumer } = full;
      expect(resolve({ type: 'consumer' }, withoutConsumer)).toMatchObject({ source: 'credential', fallback: true });
      expect(resolve({ type: 'consumer' }, anonymous)).toMatchObject({ source: 'ip', fallback: true, value: 'ip=198.51.100.7' });
    });

    it('falls back from a missing header to the client IP', () => {
      expect(resolve({ type: 'header', header_name: 'x-tenant' }, anonymous)).toMatchObject({ source: 'ip', value: 'ip=198.51.100.7' });
    });

    it('falls back to a header fingerprint when there is no address either', () => {
      const curl = resolve({ type: 'ip' }, { headers: { 'user-agent': 'curl/8.5' }, path: '/' });
      const browser = resolve({ type: 'ip' }, { headers: { 'user-agent': 'Mozilla/5.0', 'accept-language': 'de' }, path: '/' });
      expect(curl.source).toBe('anonymous');
      expect(curl.fallback).toBe(true);
      expect(curl.value).not.toBe(browser.value);
    });

    it('falls back from a missing route to the path', () => {
      expect(resolve({ type: 'route' }, anonymous)).toMatchObject({ source: 'path', fallback: true, value: 'path=/v1/x' });
    });

    it('marks a compound identifier as fallen back when any part did', () => {
      expect(resolve({ type: 'compound', parts: [{ type: 'consumer' }, { type: 'path' }] }, anonymous)).toMatchObject({
        source: 'compound(ip+path)',
        fallback: true,
      });
    });
  });

  it('keeps identifiers of different kinds apart even when the raw values are equal', () => {
    const request: RateLimitRequest = { remoteAddress: '203.0.113.9', headers: {}, path: '/', consumer: { id: '203.0.113.9' } };
    expect(resolve({ type: 'consumer' }, request).value).not.toBe(resolve({ type: 'ip' }, request).value);
  });
});

describe('IdentifierHasher', () => {
  it('hashes with the key: stable per key, different across keys, never the raw value', () => {
    const a = new IdentifierHasher('0123456789abcdef-key-a');
    const b = new IdentifierHasher('0123456789abcdef-key-b');
    const hash = a.hash('credential=sk_live_secret');
    expect(hash).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.hash('credential=sk_live_secret')).toBe(hash);
    expect(b.hash('credential=sk_live_secret')).not.toBe(hash);
    expect(hash).not.toContain('secret');
  });

  it('refuses a key shorter than 16 bytes', () => {
    expect(() => new IdentifierHasher('short')).toThrow('16 bytes');
  });
});
