import type { IncomingMessage } from 'node:http';
import { ClientAddress } from './client-address';

const request = (remoteAddress: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} }) as unknown as IncomingMessage;

describe('client address for sign-in backoff', () => {
  it('uses the socket peer unless it is a trusted proxy', () => {
    const address = new ClientAddress(['10.0.0.0/8']);
    expect(address.of(request('203.0.113.9', '198.51.100.1'))).toBe('203.0.113.9');
    expect(address.of(request('10.1.2.3', '198.51.100.1, 203.0.113.7'))).toBe('203.0.113.7');
    expect(address.of(request('::ffff:10.1.2.3', '198.51.100.1'))).toBe('198.51.100.1');
  });

  it('keys IPv6 clients by their /64', () => {
    const address = new ClientAddress();
    expect(address.throttleKey('2001:db8:1:2:aaaa::1')).toBe(address.throttleKey('2001:db8:1:2:bbbb::2'));
    expect(address.throttleKey('192.0.2.1')).toBe('192.0.2.1');
  });
});
