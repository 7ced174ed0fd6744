import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClientAddress } from '../interactions/client-address';
import { cookieValue, DEVICE_COOKIE, SignInContextReader } from './sign-in-context';

const key = Buffer.alloc(32, 7);

function request(peer: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

function response() {
  const cookies: string[] = [];
  const res = { headersSent: false, appendHeader: (_name: string, value: string) => cookies.push(value) } as unknown as ServerResponse;
  return { res, cookies };
}

describe('SignInContextReader', () => {
  const reader = new SignInContextReader({ address: new ClientAddress(['10.0.0.0/8']), countryHeader: 'X-Client-Country', key });

  it('believes the country header only from a trusted proxy', () => {
    expect(reader.read(request('10.1.2.3', { 'x-client-country': 'de', 'x-forwarded-for': '198.51.100.9' }))).toMatchObject({
      ip: '198.51.100.9',
      country: 'DE',
    });
    const direct = reader.read(request('198.51.100.9', { 'x-client-country': 'DE' }));
    expect(direct.country).toBeUndefined();
    expect(direct.ip).toBe('198.51.100.9');
  });

  it('ignores a malformed country and records none without a configured header', () => {
    expect(reader.read(request('10.0.0.1', { 'x-client-country': 'Germany' })).country).toBeUndefined();
    const noHeader = new SignInContextReader({ address: new ClientAddress(['10.0.0.0/8']), key });
    expect(noHeader.read(request('10.0.0.1', { 'x-client-country': 'DE' })).country).toBeUndefined();
  });

  it('gives a new browser a MAC-protected device cookie and the same fingerprint when it comes back', () => {
    const { res, cookies } = response();
    const first = reader.read(request('10.0.0.1', { 'user-agent': 'UA' }), res);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(
      new RegExp(`^${DEVICE_COOKIE}=[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{22}; Path=/; Max-Age=34560000; HttpOnly; SameSite=Lax$`),
    );
    const cookie = cookies[0]!.split(';')[0]!;
    const again = response();
    const second = reader.read(request('10.0.0.1', { cookie: `other=1; ${cookie}` }), again.res);
    expect(again.cookies).toHaveLength(0);
    expect(second.deviceFingerprint).toBe(first.deviceFingerprint);
    expect(first.deviceFingerprint).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(cookie).not.toContain(first.deviceFingerprint);
  });

  it('treats a forged or edited device cookie as a new device', () => {
    const { res, cookies } = response();
    const first = reader.read(request('10.0.0.1'), res);
    const [id, mac] = cookies[0]!.split(';')[0]!.split('=')[1]!.split('.');
    const forged = `${DEVICE_COOKIE}=${'A'.repeat(22)}.${mac}`;
    const edited = response();
    const second = reader.read(request('10.0.0.1', { cookie: forged }), edited.res);
    expect(second.deviceFingerprint).not.toBe(first.deviceFingerprint);
    expect(edited.cookies).toHaveLength(1);
    const otherKey = new SignInContextReader({ address: new ClientAddress([]), key: Buffer.alloc(32, 8) });
    expect(otherKey.read(request('10.0.0.1', { cookie: `${DEVICE_COOKIE}=${id}.${mac}` })).deviceFingerprint).toBeUndefined();
  });
});

describe('cookieValue', () => {
  it('finds one cookie among several', () => {
    expect(cookieValue('a=1; traceo_device=x.y; b=2', 'traceo_device')).toBe('x.y');
    expect(cookieValue('a=1', 'traceo_device')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
  });
});
