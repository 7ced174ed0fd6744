import { Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TestTokenIssuer } from '@traceo/testing';
import { parseApiKeys } from './api-keys';
import { Public, RequirePermissions } from './auth.decorators';
import { ForbiddenError, InvalidTokenError, TenantMismatchError, UnauthenticatedError } from './auth.errors';
import { AuthGuard } from './auth.guard';
import type { Principal } from './principal';
import { TokenVerifier } from './token-verifier';

const KEY = 'k3y-of-at-least-thirty-two-characters-long';

class KeyringsController {
  @RequirePermissions('crypto:decrypt')
  decrypt(): void {}

  @RequirePermissions('crypto:keys:manage')
  rotate(): void {}

  @RequirePermissions()
  whoAmI(): void {}

  undeclared(): void {}

  @Public()
  info(): void {}
}

interface FakeRequest {
  headers: { authorization?: string };
  params: Record<string, string>;
  principal?: Principal;
  apiClientId?: string;
}

function contextFor(handler: keyof KeyringsController, request: FakeRequest, headers: Record<string, string> = {}): ExecutionContext {
  const response = { setHeader: (name: string, value: string) => (headers[name] = value) };
  return {
    getType: () => 'http',
    getHandler: () => KeyringsController.prototype[handler],
    getClass: () => KeyringsController,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ExecutionContext;
}

let issuer: TestTokenIssuer;
let guard: AuthGuard;
let apiKeyOnlyGuard: AuthGuard;

beforeAll(async () => {
  Logger.overrideLogger(false);
  issuer = await TestTokenIssuer.create();
  const tokenVerifier = new TokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, keys: { jwks: issuer.jwks() } });
  guard = new AuthGuard(new Reflector(), { apiKeys: parseApiKeys(`console:${KEY}`), tokenVerifier });
  apiKeyOnlyGuard = new AuthGuard(new Reflector(), { apiKeys: parseApiKeys(`console:${KEY}`) });
});

const bearer = (credential: string) => ({ headers: { authorization: `Bearer ${credential}` }, params: { tenantId: 'acme' } });
const tokenFor = (roles: string[], tenantId = 'acme') => issuer.issue({ sub: 'alice', tenantId, roles });

describe('AuthGuard', () => {
  it('lets a key user decrypt in their own tenant and attaches the principal', async () => {
    const request: FakeRequest = bearer(await tokenFor(['key-user']));
    await expect(guard.canActivate(contextFor('decrypt', request))).resolves.toBe(true);
    expect(request.principal).toMatchObject({ subject: 'alice', tenantId: 'acme', via: 'jwt' });
    expect(request.apiClientId).toBe('alice');
  });

  it.each(['key-admin', 'platform-admin', 'auditor'])('refuses decryption to a %s with 403 AUTH.FORBIDDEN', async (role) => {
    const headers: Record<string, string> = {};
    await expect(guard.canActivate(contextFor('decrypt', bearer(await tokenFor([role])), headers))).rejects.toBeInstanceOf(ForbiddenError);
    expect(headers['WWW-Authenticate']).toBe('Bearer error="insufficient_scope"');
  });

  it('refuses a token without roles on a route that needs a permission', async () => {
    await expect(guard.canActivate(contextFor('decrypt', bearer(await tokenFor([]))))).rejects.toMatchObject({
      code: 'AUTH.FORBIDDEN',
      status: 403,
    });
  });

  it('refuses a principal of another tenant with 403 AUTH.TENANT_MISMATCH', async () => {
    const error = await guard
      .canActivate(contextFor('decrypt', bearer(await tokenFor(['key-user'], 'globex'))))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TenantMismatchError);
    expect(error).toMatchObject({ code: 'AUTH.TENANT_MISMATCH', status: 403 });
  });

  it('lets a platform-wide principal act on any tenant', async () => {
    await expect(guard.canActivate(contextFor('rotate', bearer(await tokenFor(['key-admin'], '*'))))).resolves.toBe(true);
  });

  it('opens @RequirePermissions() with no permissions to any authenticated principal', async () => {
    await expect(guard.canActivate(contextFor('whoAmI', bearer(await tokenFor([]))))).resolves.toBe(true);
  });

  it('refuses token principals on a route that declares no permissions (deny by default)', async () => {
    await expect(
      guard.canActivate(contextFor('undeclared', bearer(await tokenFor(['platform-admin', 'key-user'], '*')))),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });

  describe('API keys (interim machine credential)', () => {
    it('authenticate as role service on every tenant, on undeclared routes as before', async () => {
      for (const candidate of [guard, apiKeyOnlyGuard]) {
        const request: FakeRequest = bearer(KEY);
        await expect(candidate.canActivate(contextFor('undeclared', request))).resolves.toBe(true);
        expect(request.principal).toMatchObject({
          subject: 'console',
          clientId: 'console',
          tenantId: '*',
          roles: ['service'],
          via: 'api-key',
        });
        expect(request.apiClientId).toBe('console');
      }
    });

    it('carry the service role permissions: decrypt yes, key management no', async () => {
      await expect(guard.canActivate(contextFor('decrypt', bearer(KEY)))).resolves.toBe(true);
      await expect(guard.canActivate(contextFor('rotate', bearer(KEY)))).rejects.toBeInstanceOf(ForbiddenError);
    });

    it('refuse a wrong key as an invalid bearer credential', async () => {
      const headers: Record<string, string> = {};
      await expect(guard.canActivate(contextFor('undeclared', bearer(`${KEY}x`), headers))).rejects.toBeInstanceOf(InvalidTokenError);
      expect(headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
    });
  });

  it('checks a JWT as an API key when JWT auth is not configured (and refuses it)', async () => {
    await expect(apiKeyOnlyGuard.canActivate(contextFor('decrypt', bearer(await tokenFor(['key-user']))))).rejects.toMatchObject({
      details: { reason: 'api-key' },
    });
  });

  it.each([undefined, 'Basic abc', 'Bearer ', KEY])(
    'refuses Authorization %j as unauthenticated, with a plain Bearer challenge',
    async (authorization) => {
      const headers: Record<string, string> = {};
      const error = await guard
        .canActivate(contextFor('decrypt', { headers: { authorization }, params: {} }, headers))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect(error).not.toBeInstanceOf(InvalidTokenError);
      expect(headers['WWW-Authenticate']).toBe('Bearer');
    },
  );

  it('leaves @Public() routes and non-HTTP contexts open', async () => {
    await expect(guard.canActivate(contextFor('info', { headers: {}, params: {} }))).resolves.toBe(true);
    await expect(guard.canActivate({ getType: () => 'rpc' } as unknown as ExecutionContext)).resolves.toBe(true);
  });
});
