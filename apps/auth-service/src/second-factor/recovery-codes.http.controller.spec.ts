import { accessTokenAcr } from './recovery-codes.http.controller';

const jwt = (payload: unknown) => `Bearer eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2lnbmF0dXJl`;

describe('acr of the verified bearer token', () => {
  it('reads acr from the access token payload', () => {
    expect(accessTokenAcr({ headers: { authorization: jwt({ sub: 'a', acr: 'urn:traceo:acr:mfa' }) } })).toBe('urn:traceo:acr:mfa');
  });

  it.each([
    ['no header', undefined],
    ['an API key', 'Bearer tk_live_0123456789abcdef'],
    ['a token without acr', jwt({ sub: 'a' })],
    ['a non-string acr', jwt({ acr: ['urn:traceo:acr:mfa'] })],
    ['a payload that is not JSON', 'Bearer aGVhZA.bm90IGpzb24.c2ln'],
    ['another scheme', jwt({ acr: 'urn:traceo:acr:mfa' }).replace('Bearer', 'Basic')],
  ])('gives undefined for %s', (_case, authorization) => {
    expect(accessTokenAcr({ headers: authorization === undefined ? {} : { authorization } })).toBeUndefined();
  });
});
