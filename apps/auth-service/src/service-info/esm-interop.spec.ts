import * as jose from 'jose';
import Provider from 'oidc-provider';
import * as openidClient from 'openid-client';

// These packages ship only ES modules; the workspace compiles to CommonJS and Jest transforms them.
describe('ES-module-only protocol libraries under Jest', () => {
  it('signs and verifies an ES256 JWT with jose', async () => {
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
    const token = await new jose.SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(privateKey);
    const { payload } = await jose.jwtVerify(token, publicKey);
    expect(payload.sub).toBe('alice');
  });

  it('constructs an oidc-provider instance for an issuer', () => {
    const provider = new Provider('https://auth.example.test', { clients: [] });
    expect(provider.issuer).toBe('https://auth.example.test');
  });

  it('loads openid-client and builds a PKCE S256 challenge', async () => {
    const verifier = openidClient.randomPKCECodeVerifier();
    const challenge = await openidClient.calculatePKCECodeChallenge(verifier);
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
