import { Controller, Get, Module, Param, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { CurrentPrincipal, Public, RequirePermissions, type Principal } from '@traceo/security';
import { TestTokenIssuer, type JwksServer } from '@traceo/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AUTH_PROVIDERS } from './auth.providers';
import { baseConfigSchema, loadConfig } from './config';
import { ProblemDetailsFilter, type ProblemDetails } from './problem-details.filter';
import { SERVICE_RUNTIME } from './service-runtime';

const KEY = 'k3y-of-at-least-thirty-two-characters-long';
const OTHER_KEY = 'another-key-of-thirty-two-characters!!';

@Controller('things')
class ThingsController {
  @Get()
  list(): string[] {
    return ['a'];
  }

  @Public()
  @Get('public')
  open(): string {
    return 'ok';
  }
}

@Controller('v1/tenants/:tenantId/secrets')
class SecretsController {
  @RequirePermissions('crypto:decrypt')
  @Get()
  read(@Param('tenantId') tenantId: string, @CurrentPrincipal() principal: Principal) {
    return { tenantId, subject: principal.subject, via: principal.via };
  }
}

/** A tiny app wired the way ServiceKitModule wires every service: AUTH_PROVIDERS, ProblemDetailsFilter, config from the environment. */
async function startApp(jwtEnv: Record<string, string>): Promise<{ app: INestApplication; base: string }> {
  const config = loadConfig(baseConfigSchema, {
    TRACEO_HTTP_PORT: '1',
    TRACEO_DATABASE_URL: 'postgres://unused@127.0.0.1/unused',
    TRACEO_KAFKA_BROKERS: '127.0.0.1:1',
    TRACEO_API_KEYS: `console:${KEY},ci:${OTHER_KEY}`,
    ...jwtEnv,
  });
  @Module({
    controllers: [ThingsController, SecretsController],
    providers: [
      { provide: SERVICE_RUNTIME, useValue: { config } },
      ...AUTH_PROVIDERS,
      { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    ],
  })
  class TestModule {}
  const app = (await Test.createTestingModule({ imports: [TestModule] }).compile()).createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}` };
}

let issuer: TestTokenIssuer;

beforeAll(async () => {
  issuer = await TestTokenIssuer.create();
});

describe('auth guard over HTTP, API keys only (as before JWT)', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => ({ app, base } = await startApp({})));
  afterAll(() => app.close());

  const get = (path: string, authorization?: string) => fetch(base + path, authorization ? { headers: { authorization } } : {});

  it('refuses a request without credentials with 401 AUTH.UNAUTHENTICATED', async () => {
    const response = await get('/things');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await response.json()) as ProblemDetails).code).toBe('AUTH.UNAUTHENTICATED');
  });

  it.each([`Bearer ${KEY}x`, `Bearer ${KEY.slice(1)}`, `Basic ${KEY}`, 'Bearer ', KEY])('refuses %j', async (authorization) => {
    expect((await get('/things', authorization)).status).toBe(401);
  });

  it('accepts any configured key', async () => {
    expect((await get('/things', `Bearer ${KEY}`)).status).toBe(200);
    expect((await get('/things', `Bearer ${OTHER_KEY}`)).status).toBe(200);
  });

  it('leaves routes marked @Public() open', async () => {
    expect((await get('/things/public')).status).toBe(200);
  });

  it('treats a JWT as an (unknown) API key when JWT auth is not configured', async () => {
    const token = await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['key-user'] });
    expect((await get('/v1/tenants/acme/secrets', `Bearer ${token}`)).status).toBe(401);
  });
});

describe.each([
  ['an inline JWKS', () => Promise.resolve({ env: { TRACEO_JWT_JWKS: JSON.stringify(issuer.jwks()) }, close: () => Promise.resolve() })],
  [
    'a JWKS URL',
    async () => {
      const server: JwksServer = await issuer.serveJwks();
      return { env: { TRACEO_JWT_JWKS_URL: server.url }, close: () => server.close() };
    },
  ],
])('auth guard over HTTP with JWT access tokens from %s', (_source, keySource) => {
  let app: INestApplication;
  let base: string;
  let closeKeys: () => Promise<void>;

  beforeAll(async () => {
    const { env, close } = await keySource();
    closeKeys = close;
    ({ app, base } = await startApp({ TRACEO_JWT_ISSUER: issuer.issuer, TRACEO_JWT_AUDIENCE: issuer.audience, ...env }));
  });
  afterAll(async () => {
    await app.close();
    await closeKeys();
  });

  const get = (path: string, authorization?: string) => fetch(base + path, authorization ? { headers: { authorization } } : {});
  const secretsOf = (tenant: string, token: string) => get(`/v1/tenants/${tenant}/secrets`, `Bearer ${token}`);
  const token = (roles: string[], extra: { tenantId?: string; expiresIn?: number } = {}) =>
    issuer.issue({
      sub: 'alice',
      tenantId: extra.tenantId ?? 'acme',
      roles,
      ...(extra.expiresIn !== undefined ? { expiresIn: extra.expiresIn } : {}),
    });

  async function problemOf(response: Response): Promise<ProblemDetails> {
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    return (await response.json()) as ProblemDetails;
  }

  it('serves a permitted principal of the path tenant, who reaches the handler as @CurrentPrincipal()', async () => {
    const response = await secretsOf('acme', await token(['key-user']));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ tenantId: 'acme', subject: 'alice', via: 'jwt' });
  });

  it.each([
    ['expired', () => token(['key-user'], { expiresIn: -3600 })],
    ['forged', async () => (await token(['key-user'])).replace(/.{4}$/, 'AAAA')],
    ['foreign', async () => (await TestTokenIssuer.create()).issue({ sub: 'alice', tenantId: 'acme', roles: ['key-user'] })],
  ])('answers an %s token with 401 problem+json, an invalid_token challenge, and nothing about the token', async (_case, make) => {
    const bad = await make();
    const response = await secretsOf('acme', bad);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const problem = await problemOf(response);
    expect(problem).toMatchObject({
      status: 401,
      code: 'AUTH.UNAUTHENTICATED',
      title: 'Unauthorized',
      detail: 'the access token is not valid',
    });
    const body = JSON.stringify(problem);
    for (const part of bad.split('.')) expect(body).not.toContain(part);
  });

  it('answers a principal without the permission with 403 AUTH.FORBIDDEN', async () => {
    const response = await secretsOf('acme', await token(['key-admin']));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope"');
    expect(await problemOf(response)).toMatchObject({ status: 403, code: 'AUTH.FORBIDDEN', instance: '/v1/tenants/acme/secrets' });
  });

  it('answers a principal of another tenant with 403 AUTH.TENANT_MISMATCH', async () => {
    const response = await secretsOf('globex', await token(['key-user']));
    expect(response.status).toBe(403);
    expect(await problemOf(response)).toMatchObject({ status: 403, code: 'AUTH.TENANT_MISMATCH' });
  });

  it('keeps API keys working beside tokens (role service, every tenant)', async () => {
    expect((await secretsOf('globex', KEY)).status).toBe(200);
    expect((await get('/things', `Bearer ${KEY}`)).status).toBe(200);
  });

  it('refuses a token on a route that declares no permissions', async () => {
    const response = await get('/things', `Bearer ${await token(['platform-admin'], { tenantId: '*' })}`);
    expect(response.status).toBe(403);
    expect((await problemOf(response)).code).toBe('AUTH.FORBIDDEN');
  });
});

describe('auth guard over HTTP when the JWKS URL cannot be reached', () => {
  it('answers 503 AUTH.KEYS_UNAVAILABLE, without an invalid_token challenge', async () => {
    const server = await issuer.serveJwks();
    await server.close();
    const { app, base } = await startApp({
      TRACEO_JWT_ISSUER: issuer.issuer,
      TRACEO_JWT_AUDIENCE: issuer.audience,
      TRACEO_JWT_JWKS_URL: server.url,
    });
    try {
      const tokenValue = await issuer.issue({ sub: 'alice', tenantId: 'acme', roles: ['key-user'] });
      const response = await fetch(`${base}/v1/tenants/acme/secrets`, { headers: { authorization: `Bearer ${tokenValue}` } });
      expect(response.status).toBe(503);
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(((await response.json()) as ProblemDetails).code).toBe('AUTH.KEYS_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });
});
