/* eslint-disable @typescript-eslint/no-explicit-any -- tests explore JSON bodies and audit events loosely */
import { randomBytes } from 'node:crypto';
import { waitFor } from '@traceo/testing';
import { importJWK, SignJWT, UnsecuredJWT } from 'jose';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { relyingParty, signIn, tokenRequest, WEB_REDIRECT, WEB_REDIRECT_NEAR_MISSES } from '../../test/flows';
import { PROVIDER_KEYS } from './oidc.providers';
import type { ProviderKeys } from './provider-keys';

const WEB_SECRET = 'web-app-secret-3333333333333333333333333333';
const ADMIN_SECRET = 'admin-machine-secret-44444444444444444444444';
const REDIRECT = WEB_REDIRECT;

/**
 * Issue 5's bad-input rule, "each RFC 9700 attack gets the spec's error and an audit record", on the
 * running auth-service: tokens that must not work are refused by a protected Traceo API over HTTP
 * (not only by the verifier object), and every attack leaves its audit record.
 */
describe('attacks are refused with their error and audited', () => {
  let auth: AuthTestService;
  let web: oidc.Configuration;
  let tokenEndpoint: string;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const webId = `web-${tenant}`;
  const adminId = `admin-${tenant}`;
  const user = { username: 'carol', password: 'carol has a long passphrase' };
  /** A protected route of auth-service itself (auth:clients:manage). */
  const protectedPath = `/v1/auth/tenants/${tenant}/clients/${webId}`;

  const audited = (action: string, match: (data: any) => boolean) =>
    auth.event('traceo.audit.record.v1', (e) => e['tenantid'] === tenant && e['data'].action === action && match(e['data']));

  /** An authorization request of the web client with `params`, not following the answer; `userAgent` marks it for its audit record. */
  const authorize = async (params: Record<string, string>, userAgent = 'attack-audit') => {
    const query = new URLSearchParams({ client_id: webId, response_type: 'code', scope: 'openid', state: 's', nonce: 'n', ...params });
    return fetch(`${auth.issuer}/auth?${query.toString()}`, { redirect: 'manual', headers: { 'user-agent': userAgent } });
  };

  beforeAll(async () => {
    auth = await startAuthTestService('auth_attacks', [
      { client_id: webId, tenant_id: tenant, client_secret: WEB_SECRET, redirect_uris: [REDIRECT] },
      {
        client_id: adminId,
        tenant_id: tenant,
        client_secret: ADMIN_SECRET,
        grant_types: ['client_credentials'],
        roles: ['platform-admin'],
      },
    ]);
    await auth.createAccount(tenant, user.username, user.password, ['end-user']);
    web = await relyingParty(auth.issuer, webId, WEB_SECRET);
    tokenEndpoint = web.serverMetadata().token_endpoint!;
  });

  afterAll(async () => {
    await auth?.close();
  });

  it('has a protected API refuse expired, foreign-audience, alg:none and HS256 tokens over HTTP with 401 problem+json, each audited', async () => {
    const call = async (token: string) => {
      const response = await fetch(`${auth.origin}${protectedPath}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
    };
    const issued = await tokenRequest(tokenEndpoint, { id: adminId, secret: ADMIN_SECRET }, { grant_type: 'client_credentials' });
    const genuine = String(issued.body['access_token']);
    expect((await call(genuine)).status).toBe(200);

    // The same claims, signed with the service's own current key, but expired two minutes ago.
    const [key] = auth.service.app.get<ProviderKeys>(PROVIDER_KEYS).signingKeys;
    const claims = { client_id: adminId, tenant_id: tenant, roles: ['platform-admin'] };
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key!.kid })
      .setIssuer(auth.issuer)
      .setAudience('urn:traceo:api')
      .setSubject(adminId)
      .setIssuedAt(now - 1020)
      .setExpirationTime(now - 120)
      .sign(await importJWK(key!.privateJwk, 'ES256'));
    const foreign = await tokenRequest(
      tokenEndpoint,
      { id: adminId, secret: ADMIN_SECRET },
      { grant_type: 'client_credentials', resource: 'https://other-api.traceo.test' },
    );
    const unsigned = new UnsecuredJWT(claims)
      .setIssuer(auth.issuer)
      .setAudience('urn:traceo:api')
      .setSubject(adminId)
      .setExpirationTime('5m')
      .encode();
    const jwks = (await (await fetch(`${auth.issuer}/jwks`)).json()) as { keys: Record<string, string>[] };
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key!.kid })
      .setIssuer(auth.issuer)
      .setAudience('urn:traceo:api')
      .setSubject(adminId)
      .setExpirationTime('5m')
      .sign(Buffer.from(JSON.stringify(jwks.keys[0])));

    for (const token of [expired, String(foreign.body['access_token']), unsigned, hs256]) {
      const refused = await call(token);
      expect(refused.status).toBe(401);
      expect(refused.type).toContain('application/problem+json');
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'AUTH.UNAUTHENTICATED' });
      expect(refused.text).not.toMatch(/\bat .+\.(js|ts):\d+/); // no stack trace
    }
    // Each refused call is an api.request record, denied with 401 (unauthenticated callers are recorded under the platform tenant).
    await waitFor(
      async () =>
        Promise.resolve(
          auth.received(
            'traceo.audit.record.v1',
            (e) =>
              e['data'].action === 'api.request' &&
              e['data'].resource.id === 'GET /v1/auth/tenants/:tenantId/clients/:clientId' &&
              e['data'].status === 'denied' &&
              e['data'].resultCode === '401',
          ).length >= 4,
        ),
      'four denied api.request records',
      15_000,
    );
  });

  it('audits refused authorization requests: missing PKCE, plain PKCE, an unregistered redirect URI', async () => {
    expect((await authorize({ redirect_uri: REDIRECT })).status).toBe(303);
    expect((await authorize({ redirect_uri: REDIRECT, code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' })).status).toBe(303);
    expect(
      (await authorize({ redirect_uri: `${REDIRECT}/extra`, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })).status,
    ).toBe(400);
    const refusals = () =>
      auth.received(
        'traceo.audit.record.v1',
        (e) => e['tenantid'] === tenant && e['data'].action === 'auth.authorization.refused' && e['data'].status === 'failure',
      );
    await waitFor(async () => Promise.resolve(refusals().length >= 3), 'three refused authorization requests audited', 15_000);
    expect(refusals().map((e) => String(e['data'].resultCode))).toEqual(
      expect.arrayContaining(['invalid_request', 'invalid_redirect_uri']),
    );
  });

  it.each(WEB_REDIRECT_NEAR_MISSES)(
    'audits a redirect URI with %s as its own invalid_redirect_uri refusal',
    async (_variant, redirectUri) => {
      // This request's user agent ties the record to it; the record also names the redirect URI asked for.
      const userAgent = `attack-audit/${randomBytes(6).toString('hex')}`;
      const response = await authorize(
        { redirect_uri: redirectUri, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' },
        userAgent,
      );
      expect(response.status).toBe(400);
      const refusal = await audited('auth.authorization.refused', (data) => data.userAgent === userAgent);
      expect(refusal['data']).toMatchObject({
        actor: { type: 'api-client', id: webId },
        status: 'failure',
        resultCode: 'invalid_redirect_uri',
        resource: { type: 'oauth-client', id: webId },
        details: { clientId: webId, description: expect.stringContaining('redirect_uri'), redirectUri },
      });
      expect(
        auth.received(
          'traceo.audit.record.v1',
          (e) => e['data'].action === 'auth.authorization.refused' && e['data'].userAgent === userAgent,
        ),
      ).toHaveLength(1);
    },
  );

  it('audits refused authorization requests without state, without nonce and for the implicit flow, and a code with another redirect_uri', async () => {
    const full = {
      client_id: webId,
      response_type: 'code',
      scope: 'openid',
      state: 's',
      nonce: 'n',
      redirect_uri: REDIRECT,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    };
    const { state: _state, ...withoutState } = full;
    const { nonce: _nonce, ...withoutNonce } = full;
    const cases: [Record<string, string>, string][] = [
      [withoutState, 'invalid_request'],
      [withoutNonce, 'invalid_request'],
      [{ ...full, response_type: 'token' }, 'unsupported_response_type'],
    ];
    for (const [params, error] of cases) {
      const userAgent = `attack-audit/${randomBytes(6).toString('hex')}`;
      const response = await fetch(`${auth.issuer}/auth?${new URLSearchParams(params).toString()}`, {
        redirect: 'manual',
        headers: { 'user-agent': userAgent },
      });
      expect(response.status).toBe(303);
      await audited('auth.authorization.refused', (data) => data.userAgent === userAgent && data.resultCode === error);
    }
    const signedIn = await signIn(web, auth.origin, user, { redirectUri: REDIRECT });
    const mismatch = await tokenRequest(
      tokenEndpoint,
      { id: webId, secret: WEB_SECRET },
      {
        grant_type: 'authorization_code',
        code: signedIn.callback.searchParams.get('code')!,
        redirect_uri: `${REDIRECT}/other`,
        code_verifier: signedIn.verifier,
      },
    );
    expect(mismatch).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await audited(
      'auth.token.refused',
      (data) => data.resultCode === 'invalid_grant' && String(data.details.description).includes('redirect_uri'),
    );
  });

  it('audits refused token requests: wrong verifier, code replay (with the reuse record), password grant, wrong secret', async () => {
    const signedIn = await signIn(web, auth.origin, user, { redirectUri: REDIRECT });
    const code = signedIn.callback.searchParams.get('code')!;
    const client = { id: webId, secret: WEB_SECRET };
    const wrongVerifier = await tokenRequest(tokenEndpoint, client, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: oidc.randomPKCECodeVerifier(),
    });
    expect(wrongVerifier).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await audited('auth.token.refused', (data) => data.resultCode === 'invalid_grant');

    const fresh = await signIn(web, auth.origin, user, { redirectUri: REDIRECT });
    const exchange = {
      grant_type: 'authorization_code',
      code: fresh.callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: fresh.verifier,
    };
    expect((await tokenRequest(tokenEndpoint, client, exchange)).status).toBe(200);
    expect(await tokenRequest(tokenEndpoint, client, exchange)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await audited(
      'auth.refresh-token-reused',
      (data) => data.details.credential === 'authorization_code' && data.status === 'denied' && data.resultCode === 'invalid_grant',
    );

    expect(
      await tokenRequest(tokenEndpoint, client, { grant_type: 'password', username: user.username, password: user.password }),
    ).toMatchObject({
      status: 400,
      body: { error: 'unsupported_grant_type' },
    });
    await audited('auth.token.refused', (data) => data.resultCode === 'unsupported_grant_type');

    expect(await tokenRequest(tokenEndpoint, { id: webId, secret: `${WEB_SECRET}x` }, { grant_type: 'client_credentials' })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    await audited('auth.token.refused', (data) => data.resultCode === 'invalid_client' && data.status === 'denied');
  });
});
