import { TestTokenIssuer } from '@traceo/testing';
import { exportJWK, generateKeyPair } from 'jose';
import { InvalidJwksError, jwksUrlProblem, looksLikeJwt, parsePublicJwks } from './jwt-keys';

describe('inline JWKS (TRACEO_JWT_JWKS)', () => {
  it('accepts the public ES256 and Ed25519 keys of an issuer', async () => {
    const issuer = await TestTokenIssuer.create();
    expect(parsePublicJwks(JSON.stringify(issuer.jwks())).keys).toHaveLength(2);
  });

  it.each(['ES256', 'EdDSA'] as const)('refuses a %s private key, without repeating it', async (alg) => {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(privateKey);
    const attempt = () => parsePublicJwks(JSON.stringify({ keys: [jwk] }));
    expect(attempt).toThrow(InvalidJwksError);
    expect(attempt).toThrow('must contain public keys only: key 0 has the private member "d"');
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain(jwk.d!);
    }
  });

  it('refuses a symmetric key', () => {
    expect(() => parsePublicJwks(JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }))).toThrow('private member "k"');
  });

  it('refuses RSA keys and curves other than P-256 and Ed25519', async () => {
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
    const p384 = await exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey);
    for (const key of [rsa, p384])
      expect(() => parsePublicJwks(JSON.stringify({ keys: [key] }))).toThrow('must be an EC P-256 or OKP Ed25519 key');
  });

  it('refuses keys declared for other algorithms or uses, bad points, and non-JWKS input', async () => {
    const [good] = (await TestTokenIssuer.create()).jwks().keys;
    expect(() => parsePublicJwks(JSON.stringify({ keys: [{ ...good, alg: 'HS256' }] }))).toThrow('"alg"');
    expect(() => parsePublicJwks(JSON.stringify({ keys: [{ ...good, use: 'enc' }] }))).toThrow('"use"');
    expect(() => parsePublicJwks(JSON.stringify({ keys: [{ ...good, x: 'AAAA' }] }))).toThrow('not a valid public key');
    expect(() => parsePublicJwks('{"keys": []}')).toThrow('at least one key');
    expect(() => parsePublicJwks('not json')).toThrow('must be a JSON Web Key Set');
  });
});

describe('JWKS URL (TRACEO_JWT_JWKS_URL)', () => {
  it.each(['https://auth.traceo.dev/.well-known/jwks.json', 'http://127.0.0.1:4101/jwks', 'http://localhost/jwks'])('accepts %s', (url) => {
    expect(jwksUrlProblem(url)).toBeUndefined();
  });

  it.each([
    'http://auth.traceo.dev/jwks',
    'http://127.0.0.2/jwks',
    'ftp://127.0.0.1/jwks',
    'https://user:pw@auth.traceo.dev/jwks',
    'jwks.json',
  ])('refuses %s', (url) => {
    expect(jwksUrlProblem(url)).toEqual(expect.any(String));
  });
});

describe('looksLikeJwt', () => {
  it('recognises three base64url segments and nothing else', () => {
    expect(looksLikeJwt('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln')).toBe(true);
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.')).toBe(true);
    expect(looksLikeJwt('k3y-of-at-least-thirty-two-characters-long')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
    expect(looksLikeJwt('a+b.c/d.e')).toBe(false);
  });
});
