import { TestTokenIssuer } from '@traceo/testing';
import { exportJWK, generateKeyPair } from 'jose';
import { TokenVerifier } from '@traceo/security';
import { authGuardOptions } from './auth.providers';
import { baseConfigSchema, ConfigurationError, loadConfig } from './config';

const valid = {
  TRACEO_HTTP_PORT: '4103',
  TRACEO_DATABASE_URL: 'postgres://svc:s3cret-password@127.0.0.1:54329/traceo',
  TRACEO_KAFKA_BROKERS: '127.0.0.1:39092, 127.0.0.1:39094',
  TRACEO_API_KEYS: 'platform:0123456789abcdef0123456789abcdef,ops:fedcba9876543210fedcba9876543210',
};

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(baseConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('service configuration', () => {
  it('parses a complete environment and applies defaults', () => {
    const config = loadConfig(baseConfigSchema, valid);
    expect(config).toMatchObject({
      TRACEO_HTTP_PORT: 4103,
      TRACEO_HTTP_HOST: '127.0.0.1',
      TRACEO_LOG_LEVEL: 'info',
      TRACEO_KAFKA_BROKERS: ['127.0.0.1:39092', '127.0.0.1:39094'],
      TRACEO_KAFKA_NAMESPACE: '',
    });
    expect(loadConfig(baseConfigSchema, { ...valid, TRACEO_KAFKA_NAMESPACE: 'staging.' }).TRACEO_KAFKA_NAMESPACE).toBe('staging.');
  });

  it('names a missing variable', () => {
    const { TRACEO_DATABASE_URL: _omitted, ...env } = valid;
    expect(problemsOf(env)).toEqual(['TRACEO_DATABASE_URL is required']);
  });

  it.each([
    ['TRACEO_HTTP_PORT', 'eighty'],
    ['TRACEO_HTTP_PORT', '70000'],
    ['TRACEO_KAFKA_BROKERS', 'localhost'],
    ['TRACEO_KAFKA_NAMESPACE', 'staging'],
    ['TRACEO_KAFKA_NAMESPACE', 'Staging.'],
    ['TRACEO_KAFKA_NAMESPACE', 'a/b.'],
    ['TRACEO_DATABASE_URL', 'mysql://x@y/z'],
    ['TRACEO_LOG_LEVEL', 'loud'],
    ['TRACEO_API_KEYS', 'platform:too-short'],
    ['TRACEO_API_KEYS', 'no-secret-at-all'],
  ])('names malformed %s', (variable, value) => {
    const problems = problemsOf({ ...valid, [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${variable} `));
  });

  it('never repeats the value of a variable in its message', () => {
    const problems = problemsOf({ ...valid, TRACEO_DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(problems.join(' ')).not.toContain('hunter2');
  });

  describe('JWT access tokens', () => {
    let jwks: string;
    const issuerAndAudience = { TRACEO_JWT_ISSUER: 'https://auth.traceo.dev', TRACEO_JWT_AUDIENCE: 'traceo-api' };

    beforeAll(async () => {
      jwks = JSON.stringify((await TestTokenIssuer.create()).jwks());
    });

    it('are off when no TRACEO_JWT_* variable is set: the guard then knows API keys only', () => {
      const options = authGuardOptions(loadConfig(baseConfigSchema, valid));
      expect(options.apiKeys.map((client) => client.id)).toEqual(['platform', 'ops']);
      expect(options.tokenVerifier).toBeUndefined();
    });

    it('parse an issuer, an audience and an inline public JWKS, and give the guard a token verifier', () => {
      const config = loadConfig(baseConfigSchema, { ...valid, ...issuerAndAudience, TRACEO_JWT_JWKS: jwks });
      expect(config.TRACEO_JWT_JWKS?.keys).toHaveLength(2);
      expect(authGuardOptions(config).tokenVerifier).toBeInstanceOf(TokenVerifier);
    });

    it('parse an https JWKS URL, and http only to the loopback host', () => {
      for (const url of ['https://auth.traceo.dev/.well-known/jwks.json', 'http://127.0.0.1:4101/jwks', 'http://localhost:4101/jwks'])
        expect(loadConfig(baseConfigSchema, { ...valid, ...issuerAndAudience, TRACEO_JWT_JWKS_URL: url }).TRACEO_JWT_JWKS_URL).toBe(url);
      expect(problemsOf({ ...valid, ...issuerAndAudience, TRACEO_JWT_JWKS_URL: 'http://auth.traceo.dev/jwks' })).toEqual([
        'TRACEO_JWT_JWKS_URL must be an https:// URL (http:// only for 127.0.0.1 or localhost)',
      ]);
    });

    it.each([
      [{ TRACEO_JWT_ISSUER: 'https://auth.traceo.dev' }, ['TRACEO_JWT_AUDIENCE', 'TRACEO_JWT_JWKS_URL or TRACEO_JWT_JWKS']],
      [{ TRACEO_JWT_AUDIENCE: 'traceo-api', TRACEO_JWT_JWKS_URL: 'https://auth.traceo.dev/jwks' }, ['TRACEO_JWT_ISSUER']],
      [{ TRACEO_JWT_ISSUER: 'https://auth.traceo.dev', TRACEO_JWT_AUDIENCE: 'traceo-api' }, ['TRACEO_JWT_JWKS_URL or TRACEO_JWT_JWKS']],
    ])('name what is missing when only some are set (%j)', (partial, missing) => {
      const problems = problemsOf({ ...valid, ...partial });
      expect(problems).toHaveLength(missing.length);
      missing.forEach((variable, index) => expect(problems[index]).toMatch(new RegExp(`^${variable} is required when JWT`)));
    });

    it('refuse two key sources at once', () => {
      expect(
        problemsOf({ ...valid, ...issuerAndAudience, TRACEO_JWT_JWKS: jwks, TRACEO_JWT_JWKS_URL: 'https://auth.traceo.dev/jwks' }),
      ).toEqual(['TRACEO_JWT_JWKS must not be set together with TRACEO_JWT_JWKS_URL (one key source)']);
    });

    it('refuse a JWKS holding a private key, without repeating it', async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const jwk = await exportJWK(privateKey);
      const problems = problemsOf({ ...valid, ...issuerAndAudience, TRACEO_JWT_JWKS: JSON.stringify({ keys: [jwk] }) });
      expect(problems).toEqual(['TRACEO_JWT_JWKS must contain public keys only: key 0 has the private member "d"']);
      expect(problems.join(' ')).not.toContain(jwk.d!);
    });

    it('refuse an API key shaped like a JWT, which the guard would route to the token verifier', () => {
      const jwtShaped = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
      expect(() => loadConfig(baseConfigSchema, { ...valid, TRACEO_API_KEYS: `ci:${jwtShaped}` })).not.toThrow();
      expect(problemsOf({ ...valid, ...issuerAndAudience, TRACEO_JWT_JWKS: jwks, TRACEO_API_KEYS: `ci:${jwtShaped}` })).toEqual([
        expect.stringMatching(/^TRACEO_API_KEYS must not contain a secret shaped like a JWT/),
      ]);
    });
  });
});
