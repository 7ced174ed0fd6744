import nodeCrypto, { createPublicKey } from 'node:crypto';
import { TestTokenIssuer } from '@traceo/testing';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import { InvalidTokenError, SigningKeysUnavailableError } from './auth.errors';
import { RevokedGrants } from './revoked-grants';
import { TokenVerifier, type TokenRefusal } from './token-verifier';

const ISSUER = 'https://auth.test.traceo.local';
const AUDIENCE = 'traceo-api';

let issuer: TestTokenIssuer;
let verifier: TokenVerifier;

beforeAll(async () => {
  issuer = await TestTokenIssuer.create({ issuer: ISSUER, audience: AUDIENCE, kid: 'primary' });
  verifier = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: issuer.jwks() } });
});

/** The refusal reason, so each test proves the check it names refused the token (and not some other one). */
async function refusalOf(token: string, by: TokenVerifier = verifier): Promise<TokenRefusal> {
  const error = await by.verify(token).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof InvalidTokenError)) throw new Error(`expected an InvalidTokenError, got ${String(error)}`);
  expect(error.code).toBe('AUTH.UNAUTHENTICATED');
  expect(error.status).toBe(401);
  return error.details?.['reason'] as TokenRefusal;
}

const encode = (value: object) => base64url.encode(JSON.stringify(value));
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'alice',
  tenant_id: 'acme',
  roles: ['key-user'],
  exp: Math.floor(Date.now() / 1000) + 300,
  ...overrides,
});

describe('TokenVerifier', () => {
  it('accepts a valid ES256 access token and maps its roles to permissions', async () => {
    const token = await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['key-user'], scope: 'openid crypto' });
    const principal = await verifier.verify(token);
    expect(principal).toMatchObject({ subject: 'alice', tenantId: 'acme', roles: ['key-user'], via: 'jwt', clientId: 'test-client' });
    expect(principal.scopes).toEqual(['openid', 'crypto']);
    expect([...principal.permissions].sort()).toEqual([
      'auth:self',
      'crypto:decrypt',
      'crypto:encrypt',
      'crypto:keys:read',
      'crypto:tokens',
    ]);
  });

  it('accepts an EdDSA token, a plain JWT typ, and a platform-wide tenant', async () => {
    const token = await issuer.issue({ sub: 'ops', tenantId: '*', roles: ['platform-admin'], alg: 'EdDSA', typ: 'JWT' });
    expect(await verifier.verify(token)).toMatchObject({ subject: 'ops', tenantId: '*', roles: ['platform-admin'] });
  });

  it('accepts an audience list that contains the audience', async () => {
    const token = await issuer.issue({ sub: 'alice', tenantId: 'acme', audience: ['other-api', AUDIENCE] });
    expect((await verifier.verify(token)).subject).toBe('alice');
  });

  it('refuses an expired token', async () => {
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', expiresIn: -120 }))).toBe('expired');
  });

  it('tolerates a few seconds of clock skew on exp, not minutes', async () => {
    expect((await verifier.verify(await issuer.issue({ sub: 'alice', tenantId: 'acme', expiresIn: -10 }))).subject).toBe('alice');
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', expiresIn: -31 }))).toBe('expired');
  });

  it('refuses a token without exp', async () => {
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', expiresIn: null }))).toBe('claim:exp');
  });

  it('refuses a token from another issuer', async () => {
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', issuer: `${ISSUER}/evil` }))).toBe('claim:iss');
  });

  it('refuses a token for another audience', async () => {
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', audience: 'traceo-api-staging' }))).toBe('claim:aud');
  });

  it('refuses an unsecured token (alg: none)', async () => {
    const token = `${encode({ alg: 'none', typ: 'at+jwt', kid: 'primary-es256' })}.${encode(claims())}.`;
    expect(await refusalOf(token)).toBe('algorithm');
  });

  it.each([
    ['SPKI DER', () => createPublicKey({ key: issuer.jwks().keys[0]!, format: 'jwk' }).export({ type: 'spki', format: 'der' })],
    [
      'SPKI PEM',
      () => Buffer.from(createPublicKey({ key: issuer.jwks().keys[0]!, format: 'jwk' }).export({ type: 'spki', format: 'pem' })),
    ],
    ['JWK JSON', () => Buffer.from(JSON.stringify(issuer.jwks().keys[0]))],
  ])('refuses HS256 signed with the public key (%s) as the HMAC secret (algorithm confusion)', async (_form, secret) => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'primary-es256' })
      .sign(new Uint8Array(secret()));
    expect(await refusalOf(token)).toBe('algorithm');
  });

  it('refuses an RS256 token from another key', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'primary-es256' }).sign(privateKey);
    expect(await refusalOf(token)).toBe('algorithm');
  });

  it('refuses a token signed by another key pair under the same key id', async () => {
    const impostor = await TestTokenIssuer.create({ issuer: ISSUER, audience: AUDIENCE, kid: 'primary' });
    expect(await refusalOf(await impostor.issue({ sub: 'alice', tenantId: 'acme', roles: ['key-admin'] }))).toBe('signature');
  });

  it('refuses a token whose key id is not in the key set', async () => {
    const stranger = await TestTokenIssuer.create({ issuer: ISSUER, audience: AUDIENCE, kid: 'stranger' });
    expect(await refusalOf(await stranger.issue({ sub: 'alice', tenantId: 'acme' }))).toBe('key');
  });

  it('refuses a token whose payload was altered after signing', async () => {
    const [header, , signature] = (await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['end-user'] })).split('.');
    expect(await refusalOf(`${header}.${encode(claims({ roles: ['key-admin'] }))}.${signature}`)).toBe('signature');
  });

  it('narrows the roles permissions to the permissions its scope names, and never widens them', async () => {
    const narrowed = await verifier.verify(
      await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['key-user'], scope: 'api crypto:encrypt crypto:keys:manage' }),
    );
    expect([...narrowed.permissions]).toEqual(['crypto:encrypt']);
    expect(narrowed.scopes).toEqual(['api', 'crypto:encrypt', 'crypto:keys:manage']);
  });

  it('refuses a token of a revoked grant, also once remembered, and keeps the grant id on the principal', async () => {
    const revokedGrants = new RevokedGrants();
    const guarded = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: issuer.jwks() }, revokedGrants });
    const token = await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['key-user'], claims: { grant_id: 'grant-1' } });
    expect(await guarded.verify(token)).toMatchObject({ subject: 'alice', grantId: 'grant-1' });
    revokedGrants.add('grant-1');
    expect(await refusalOf(token, guarded)).toBe('revoked'); // was remembered: still refused
    const other = await issuer.issue({ sub: 'alice', tenantId: 'acme', claims: { grant_id: 'grant-2' } });
    expect((await guarded.verify(other)).grantId).toBe('grant-2');
    const noGrant = await issuer.issue({ sub: 'svc', tenantId: 'acme', roles: ['service'] });
    expect((await guarded.verify(noGrant)).grantId).toBeUndefined();
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', claims: { grant_id: 7 } }))).toBe('claim:grant_id');
  });

  it('grants no permissions to a token without roles, and ignores unknown roles', async () => {
    expect((await verifier.verify(await issuer.issue({ sub: 'alice', tenantId: 'acme' }))).permissions.size).toBe(0);
    const principal = await verifier.verify(
      await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['root', 'constructor', '__proto__', 'toString', 'KEY-USER'] }),
    );
    expect(principal.roles).toEqual([]);
    expect(principal.permissions.size).toBe(0);
  });

  it.each<[string, Record<string, unknown>, TokenRefusal]>([
    ['no tenant_id', { tenant_id: undefined }, 'claim:tenant_id'],
    ['a malformed tenant_id', { tenant_id: 'ACME Corp' }, 'claim:tenant_id'],
    ['roles that are not a list', { roles: 'key-user' }, 'claim:roles'],
    ['a scope that is not a string', { scope: ['a'] }, 'claim:scope'],
    ['an empty sub', { sub: '' }, 'claim:sub'],
  ])('refuses a token with %s', async (_case, extra, reason) => {
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', claims: extra }))).toBe(reason);
  });

  it('accepts typ application/at+jwt', async () => {
    expect((await verifier.verify(await issuer.issue({ sub: 'alice', tenantId: 'acme', typ: 'application/AT+JWT' }))).subject).toBe(
      'alice',
    );
  });

  it.each(['id_token+jwt', 'dpop+jwt', null])('refuses typ %s', async (typ) => {
    expect(await refusalOf(await issuer.issue({ sub: 'alice', tenantId: 'acme', typ }))).toBe('type');
  });

  it('refuses garbage and oversized input without throwing anything else', async () => {
    expect(await refusalOf('a.b.c')).toBe('malformed');
    expect(await refusalOf(`${encode({ alg: 'ES256' })}.${'A'.repeat(9000)}.x`)).toBe('malformed');
  });

  describe('remembering verified tokens', () => {
    afterEach(() => {
      jest.restoreAllMocks();
      jest.useRealTimers();
    });

    it('checks the signature of a reused token once', async () => {
      const signatureChecks = jest.spyOn(nodeCrypto, 'verify');
      const caching = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: issuer.jwks() } });
      const token = await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['key-user'] });
      for (let i = 0; i < 3; i += 1) expect((await caching.verify(token)).subject).toBe('alice');
      expect(signatureChecks).toHaveBeenCalledTimes(1);
    });

    it('checks it every time when the cache is disabled', async () => {
      const signatureChecks = jest.spyOn(nodeCrypto, 'verify');
      const uncached = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: issuer.jwks() }, verifiedCacheSeconds: 0 });
      const token = await issuer.issue({ sub: 'alice', tenantId: 'acme' });
      for (let i = 0; i < 3; i += 1) await uncached.verify(token);
      expect(signatureChecks).toHaveBeenCalledTimes(3);
    });

    it('still refuses a remembered token once it has expired', async () => {
      jest.useFakeTimers({
        doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask', 'performance', 'hrtime'],
      });
      jest.setSystemTime(Date.now());
      const caching = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: issuer.jwks() }, clockToleranceSeconds: 0 });
      const token = await issuer.issue({ sub: 'alice', tenantId: 'acme', expiresIn: 20 });
      expect((await caching.verify(token)).subject).toBe('alice');
      jest.setSystemTime(Date.now() + 21_000);
      expect(await refusalOf(token, caching)).toBe('expired');
    });
  });

  describe('with keys from a JWKS URL', () => {
    it('fetches the key set once and verifies with it', async () => {
      const server = await issuer.serveJwks();
      try {
        const remote = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwksUrl: server.url } });
        for (let i = 0; i < 3; i += 1)
          expect((await remote.verify(await issuer.issue({ sub: 'alice', tenantId: 'acme' }))).subject).toBe('alice');
        expect(server.requests).toBe(1);
        const stranger = await TestTokenIssuer.create({ issuer: ISSUER, audience: AUDIENCE, kid: 'stranger' });
        expect(await refusalOf(await stranger.issue({ sub: 'alice', tenantId: 'acme' }), remote)).toBe('key');
      } finally {
        await server.close();
      }
    });

    it('answers "keys unavailable" (503, retryable), not "invalid token", when the JWKS cannot be fetched', async () => {
      const server = await issuer.serveJwks();
      await server.close();
      const remote = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwksUrl: server.url } });
      const error = await remote.verify(await issuer.issue({ sub: 'alice', tenantId: 'acme' })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SigningKeysUnavailableError);
      expect(error).toMatchObject({ code: 'AUTH.KEYS_UNAVAILABLE', status: 503, retryable: true });
    });

    it('refuses a plain-http JWKS URL to another host', () => {
      expect(() => new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwksUrl: 'http://auth.example.com/jwks' } })).toThrow(
        /https/,
      );
    });
  });
});
