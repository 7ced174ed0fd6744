import { randomBytes } from 'node:crypto';
import { RevokedGrants, TokenVerifier } from '@traceo/security';
import { authGuardOptions, RevokedGrantsListener } from '@traceo/service-kit';
import { waitFor } from '@traceo/testing';
import { decodeJwt, SignJWT, UnsecuredJWT } from 'jose';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { csrfOf, formActionOf, TestBrowser } from '../../test/browser';
import { relyingParty, signIn, tokenRequest, WEB_REDIRECT, WEB_REDIRECT_NEAR_MISSES } from '../../test/flows';

const WEB_SECRET = 'web-app-secret-1111111111111111111111111111';
const SVC_SECRET = 'machine-secret-2222222222222222222222222222';
const REDIRECT = WEB_REDIRECT;
const NATIVE_REDIRECT = 'http://127.0.0.1/callback';

/**
 * RFC 9700 attacks and malformed input against the running auth-service: each gets the spec's error
 * (a redirect with `error=` and `iss`, an error page when the redirect URI cannot be trusted, or a
 * JSON error from the token endpoint), never a 500 or a stack trace.
 */
describe('auth-service refuses bad input with the specified errors', () => {
  let auth: AuthTestService;
  let web: oidc.Configuration;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const webId = `web-${tenant}`;
  const svcId = `svc-${tenant}`;
  const nativeId = `cli-${tenant}`;
  const user = { username: 'bob', password: 'another long passphrase for bob' };
  let tokenEndpoint: string;

  beforeAll(async () => {
    auth = await startAuthTestService('auth_bad', [
      { client_id: webId, tenant_id: tenant, client_secret: WEB_SECRET, redirect_uris: [REDIRECT] },
      { client_id: svcId, tenant_id: tenant, client_secret: SVC_SECRET, grant_types: ['client_credentials'], roles: ['service'] },
      {
        client_id: nativeId,
        tenant_id: tenant,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: [NATIVE_REDIRECT],
      },
    ]);
    await auth.createAccount(tenant, user.username, user.password, ['end-user']);
    web = await relyingParty(auth.issuer, webId, WEB_SECRET);
    tokenEndpoint = web.serverMetadata().token_endpoint!;
  });

  afterAll(async () => {
    await auth?.close();
  });

  const challenge = async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    return { verifier, code_challenge: await oidc.calculatePKCECodeChallenge(verifier) };
  };

  /** A valid authorization request for the web client, with `changes` applied (undefined removes a parameter). */
  async function authorize(changes: Record<string, string | undefined>, clientId = webId, redirectUri = REDIRECT) {
    const { code_challenge } = await challenge();
    const params: Record<string, string | undefined> = {
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid api',
      state: 'xyz',
      nonce: 'n-0S6_WzA2Mj',
      code_challenge,
      code_challenge_method: 'S256',
      ...changes,
    };
    const query = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const response = await fetch(`${auth.issuer}/auth?${query.toString()}`, { redirect: 'manual' });
    const location = response.headers.get('location');
    return { status: response.status, location: location ? new URL(location, auth.origin) : undefined, body: await response.text() };
  }

  /** The error redirected to the client: RFC 6749 §4.1.2.1 with RFC 9207 `iss` and the client's `state`. */
  function expectRedirectedError(result: Awaited<ReturnType<typeof authorize>>, error: string, redirectUri = REDIRECT) {
    expect(result.status).toBe(303);
    expect(`${result.location!.origin}${result.location!.pathname}`).toBe(redirectUri);
    expect(Object.fromEntries(result.location!.searchParams)).toMatchObject({ error, iss: auth.issuer });
  }

  describe('authorization requests', () => {
    it('rejects an authorization request without code_challenge', async () => {
      const result = await authorize({ code_challenge: undefined, code_challenge_method: undefined });
      expectRedirectedError(result, 'invalid_request');
      expect(result.location!.searchParams.get('state')).toBe('xyz');
      expect(result.location!.searchParams.get('error_description')).toMatch(/PKCE/);
    });

    it('rejects the plain code_challenge_method', async () => {
      expectRedirectedError(
        await authorize({ code_challenge_method: 'plain', code_challenge: oidc.randomPKCECodeVerifier() }),
        'invalid_request',
      );
    });

    it('rejects a code_challenge without its method, and a malformed challenge', async () => {
      expectRedirectedError(await authorize({ code_challenge_method: undefined }), 'invalid_request');
      expectRedirectedError(await authorize({ code_challenge: 'short' }), 'invalid_request');
    });

    it('rejects a request without state, and an OpenID request without nonce', async () => {
      expectRedirectedError(await authorize({ state: undefined }), 'invalid_request');
      expectRedirectedError(await authorize({ nonce: undefined }), 'invalid_request');
    });

    it('offers neither the implicit nor the hybrid flow', async () => {
      for (const responseType of ['token', 'id_token', 'code id_token', 'code token']) {
        const result = await authorize({ response_type: responseType });
        expect(result.status).toBe(303);
        // Errors of fragment-encoded response types travel in the fragment (OAuth 2.0 Multiple Response Types §5).
        const error = new URLSearchParams(result.location!.hash.slice(1)).get('error') ?? result.location!.searchParams.get('error');
        expect(error).toBe('unsupported_response_type');
      }
    });

    it.each(WEB_REDIRECT_NEAR_MISSES)('refuses a redirect URI with %s without redirecting to it', async (_variant, redirectUri) => {
      const result = await authorize({}, webId, redirectUri);
      expect(result.status).toBe(400);
      expect(result.location).toBeUndefined();
      expect(result.body).toContain('invalid_redirect_uri');
      expect(result.body).not.toMatch(/at \S+\.js|stack/i);
    });

    it('lets a native app use any port on its registered loopback redirect URI (RFC 8252 §7.3), nothing else', async () => {
      const ok = await authorize({}, nativeId, 'http://127.0.0.1:53187/callback');
      expect(ok.status).toBe(303);
      expect(ok.location!.pathname).toMatch(/^\/interaction\//);
      const wrongPath = await authorize({}, nativeId, 'http://127.0.0.1:53187/other');
      expect(wrongPath.status).toBe(400);
      const localhost = await authorize({}, nativeId, 'http://localhost/callback');
      expect(localhost.status).toBe(400);
    });

    it('refuses an unknown client and an over-long state with an error, not a crash', async () => {
      const unknown = await authorize({}, 'no-such-client');
      expect(unknown.status).toBe(400);
      expect(unknown.body).toContain('invalid_client');
      expectRedirectedError(await authorize({ state: 'x'.repeat(600) }), 'invalid_request');
    });
  });

  describe('the token endpoint', () => {
    async function code() {
      return signIn(web, auth.origin, user, { redirectUri: REDIRECT });
    }

    it('accepts the RFC 7636 Appendix B verifier for its challenge, and the same verifier one character off is invalid_grant', async () => {
      // RFC 7636 Appendix B: S256 of this verifier is E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM.
      const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
      const signedIn = await signIn(web, auth.origin, user, {
        redirectUri: REDIRECT,
        verifier: RFC_VERIFIER,
        extra: { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' },
      });
      const exchange = (verifier: string, code: string) =>
        tokenRequest(
          tokenEndpoint,
          { id: webId, secret: WEB_SECRET },
          { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
        );
      const offByOne = await signIn(web, auth.origin, user, {
        redirectUri: REDIRECT,
        verifier: RFC_VERIFIER,
        extra: { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' },
      });
      expect(await exchange(`${RFC_VERIFIER.slice(0, -1)}j`, offByOne.callback.searchParams.get('code')!)).toMatchObject({
        status: 400,
        body: { error: 'invalid_grant' },
      });
      const accepted = await exchange(RFC_VERIFIER, signedIn.callback.searchParams.get('code')!);
      expect(accepted.status).toBe(200);
      expect(accepted.body['access_token']).toEqual(expect.any(String));
    });

    it('refuses a wrong code_verifier and a missing one with invalid_grant', async () => {
      const signedIn = await code();
      const codeValue = signedIn.callback.searchParams.get('code')!;
      const wrong = await tokenRequest(
        tokenEndpoint,
        { id: webId, secret: WEB_SECRET },
        {
          grant_type: 'authorization_code',
          code: codeValue,
          redirect_uri: REDIRECT,
          code_verifier: oidc.randomPKCECodeVerifier(),
        },
      );
      expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(wrong.type).toMatch(/^application\/json/);
      const missing = await tokenRequest(
        tokenEndpoint,
        { id: webId, secret: WEB_SECRET },
        { grant_type: 'authorization_code', code: codeValue, redirect_uri: REDIRECT },
      );
      expect(missing).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('refuses a code presented with another redirect_uri', async () => {
      const signedIn = await code();
      const result = await tokenRequest(
        tokenEndpoint,
        { id: webId, secret: WEB_SECRET },
        {
          grant_type: 'authorization_code',
          code: signedIn.callback.searchParams.get('code')!,
          redirect_uri: `${REDIRECT}/other`,
          code_verifier: signedIn.verifier,
        },
      );
      expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    /** The token request that exchanges a fresh code of the web client (sent twice, it is a replay). */
    async function codeExchange(): Promise<Record<string, string>> {
      const signedIn = await code();
      return {
        grant_type: 'authorization_code',
        code: signedIn.callback.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        code_verifier: signedIn.verifier,
      };
    }

    it('refuses a replayed code and revokes the tokens issued from it, its access token at the APIs within a second', async () => {
      // A service's guard as every service runs it: RevokedGrants fed by RevokedGrantsListener from Kafka.
      const revoked = new RevokedGrants();
      const guardOptions = authGuardOptions(
        {
          ...auth.service.runtime.config,
          TRACEO_JWT_ISSUER: auth.issuer,
          TRACEO_JWT_AUDIENCE: 'urn:traceo:api',
          TRACEO_JWT_JWKS_URL: `${auth.issuer}/jwks`,
        },
        revoked,
      );
      const listener = new RevokedGrantsListener(auth.service.runtime, revoked, guardOptions);
      listener.onApplicationBootstrap();
      try {
        await waitFor(() => Promise.resolve(listener.listening), 'the revocation listener joined', 20000, 50);
        const params = await codeExchange();
        const first = await tokenRequest(tokenEndpoint, { id: webId, secret: WEB_SECRET }, params);
        expect(first.status).toBe(200);
        const accessToken = String(first.body['access_token']);
        const grantId = decodeJwt(accessToken)['grant_id'];
        expect(grantId).toEqual(expect.any(String));
        await expect(guardOptions.tokenVerifier!.verify(accessToken)).resolves.toMatchObject({ grantId });
        const replay = await tokenRequest(tokenEndpoint, { id: webId, secret: WEB_SECRET }, params);
        const replayedAt = Date.now();
        expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
        // The access token of the first exchange is refused (it was remembered as verified: still refused).
        await waitFor(() => Promise.resolve(revoked.has(String(grantId))), 'the revocation seen', 5000, 10);
        expect(Date.now() - replayedAt).toBeLessThan(1000);
        await expect(guardOptions.tokenVerifier!.verify(accessToken)).rejects.toMatchObject({ details: { reason: 'revoked' } });
      } finally {
        await listener.onApplicationShutdown();
      }
    });

    it('refuses a replayed code and revokes the refresh token issued from it, with a security event', async () => {
      const params = await codeExchange();
      const first = await tokenRequest(tokenEndpoint, { id: webId, secret: WEB_SECRET }, params);
      expect(first.status).toBe(200);
      const replay = await tokenRequest(tokenEndpoint, { id: webId, secret: WEB_SECRET }, params);
      expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      const refresh = await tokenRequest(
        tokenEndpoint,
        { id: webId, secret: WEB_SECRET },
        {
          grant_type: 'refresh_token',
          refresh_token: String(first.body['refresh_token']),
        },
      );
      expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      await auth.event(
        'traceo.auth.refresh-token-reused.v1',
        (e) =>
          e['tenantid'] === tenant &&
          e['data'].credential === 'authorization_code' &&
          e['data'].clientId === webId &&
          typeof e['data'].grantId === 'string', // the grant the replay revoked, so resource servers can refuse its tokens
      );
    });

    it('does not offer the password grant, and refuses unknown or missing grant types', async () => {
      const password = await tokenRequest(
        tokenEndpoint,
        { id: webId, secret: WEB_SECRET },
        { grant_type: 'password', username: 'bob', password: 'x' },
      );
      expect(password).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
      const none = await tokenRequest(tokenEndpoint, { id: webId, secret: WEB_SECRET }, {});
      expect(none).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    });

    it('refuses a wrong client secret with invalid_client', async () => {
      const result = await tokenRequest(tokenEndpoint, { id: svcId, secret: `${SVC_SECRET}x` }, { grant_type: 'client_credentials' });
      expect(result).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    });

    it('refuses oversized and malformed token requests with invalid_request, each an audit record, no stack', async () => {
      const refusals = (description: string) =>
        auth.received(
          'traceo.audit.record.v1',
          (e) =>
            e['data'].action === 'auth.token.refused' &&
            e['data'].resultCode === 'invalid_request' &&
            String(e['data'].details?.description).includes(description),
        );
      const parseFailuresBefore = refusals('request entity too large').length;
      const wrongTypeBefore = refusals('only application/x-www-form-urlencoded').length;
      // 300,000 characters: beyond oidc-provider's 56 KiB for an endpoint's body.
      const huge = await tokenRequest(
        tokenEndpoint,
        { id: webId, secret: WEB_SECRET },
        {
          grant_type: 'authorization_code',
          code: 'A'.repeat(300_000),
          redirect_uri: REDIRECT,
          code_verifier: oidc.randomPKCECodeVerifier(),
        },
      );
      expect(huge).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
      // A JSON body, and a malformed one at that: the token endpoint takes form bodies only (RFC 6749 §3.2).
      for (const body of ['{"grant_type":', JSON.stringify({ grant_type: 'client_credentials' })]) {
        const json = await fetch(tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await json.text();
        expect(json.status).toBe(400);
        expect(JSON.parse(text)).toMatchObject({ error: 'invalid_request' });
        expect(text).not.toMatch(/at \S+\.js/);
      }
      await waitFor(
        () => Promise.resolve(refusals('request entity too large').length > parseFailuresBefore),
        'the oversized request audited',
        15000,
        50,
      );
      await waitFor(
        () => Promise.resolve(refusals('only application/x-www-form-urlencoded').length >= wrongTypeBefore + 2),
        'both JSON requests audited',
        15000,
        50,
      );
      expect(JSON.stringify(refusals('request entity too large'))).not.toContain('A'.repeat(100));
    });
  });

  describe('client credentials', () => {
    it('issues a machine token with the client tenant and roles, which the shared guard accepts', async () => {
      const svc = await relyingParty(auth.issuer, svcId, SVC_SECRET);
      const tokens = await oidc.clientCredentialsGrant(svc, {});
      expect(tokens.expires_in).toBe(900);
      expect(tokens.refresh_token).toBeUndefined();
      expect(decodeJwt(tokens.access_token)).toMatchObject({
        iss: auth.issuer,
        aud: 'urn:traceo:api',
        client_id: svcId,
        tenant_id: tenant,
        roles: ['service'],
      });
      const verifier = new TokenVerifier({ issuer: auth.issuer, audience: 'urn:traceo:api', keys: { jwksUrl: `${auth.issuer}/jwks` } });
      await expect(verifier.verify(tokens.access_token)).resolves.toMatchObject({ tenantId: tenant, roles: ['service'], clientId: svcId });
      const other = await oidc.clientCredentialsGrant(svc, { resource: 'https://other-api.traceo.test' });
      expect(decodeJwt(other.access_token).aud).toBe('https://other-api.traceo.test');
      await expect(verifier.verify(other.access_token)).rejects.toMatchObject({ code: 'AUTH.UNAUTHENTICATED' });
    });

    it('narrows a machine token to the permissions its scope names (roles grant, scopes narrow)', async () => {
      const svc = await relyingParty(auth.issuer, svcId, SVC_SECRET);
      const verifier = new TokenVerifier({ issuer: auth.issuer, audience: 'urn:traceo:api', keys: { jwksUrl: `${auth.issuer}/jwks` } });
      const whole = await verifier.verify((await oidc.clientCredentialsGrant(svc, { scope: 'api' })).access_token);
      expect(whole.permissions.has('crypto:decrypt')).toBe(true);
      // audit:read is an API scope, but not one the service role grants: named, it adds nothing.
      const narrow = await oidc.clientCredentialsGrant(svc, { scope: 'crypto:encrypt audit:read' });
      expect(String(decodeJwt(narrow.access_token).scope).split(' ').sort()).toEqual(['audit:read', 'crypto:encrypt']);
      const principal = await verifier.verify(narrow.access_token);
      expect([...principal.permissions]).toEqual(['crypto:encrypt']);
      expect(principal.roles).toEqual(['service']);
      // A scope name the APIs do not offer is ignored (RFC 6749 §3.3 lets the server grant less than asked):
      // the token says what was granted, here no scope at all, so the service role's permissions.
      const unknown = await oidc.clientCredentialsGrant(svc, { scope: 'crypto:everything' });
      expect(decodeJwt(unknown.access_token).scope).toBeUndefined();
      expect((await verifier.verify(unknown.access_token)).permissions).toEqual(whole.permissions);
    });

    it('refuses an unknown resource with invalid_target and a user-facing client with unauthorized_client', async () => {
      const unknown = await tokenRequest(
        tokenEndpoint,
        { id: svcId, secret: SVC_SECRET },
        { grant_type: 'client_credentials', resource: 'https://unknown.test' },
      );
      expect(unknown).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
      const webClient = await tokenRequest(tokenEndpoint, { id: webId, secret: WEB_SECRET }, { grant_type: 'client_credentials' });
      expect(webClient).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    });

    it('has the guard refuse alg:none and HS256 tokens carrying the same claims', async () => {
      const verifier = new TokenVerifier({ issuer: auth.issuer, audience: 'urn:traceo:api', keys: { jwksUrl: `${auth.issuer}/jwks` } });
      const claims = { sub: svcId, tenant_id: tenant, roles: ['platform-admin'] };
      const unsigned = new UnsecuredJWT(claims).setIssuer(auth.issuer).setAudience('urn:traceo:api').setExpirationTime('5m').encode();
      await expect(verifier.verify(unsigned)).rejects.toMatchObject({ code: 'AUTH.UNAUTHENTICATED' });
      const jwks = (await (await fetch(`${auth.issuer}/jwks`)).json()) as { keys: Record<string, string>[] };
      const hs256 = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwks.keys[0]!['kid']! })
        .setIssuer(auth.issuer)
        .setAudience('urn:traceo:api')
        .setExpirationTime('5m')
        .sign(Buffer.from(JSON.stringify(jwks.keys[0])));
      await expect(verifier.verify(hs256)).rejects.toMatchObject({ code: 'AUTH.UNAUTHENTICATED' });
    });
  });

  describe('sign-in pages', () => {
    async function loginPage(browser: TestBrowser) {
      const { code_challenge } = await challenge();
      const url = oidc.buildAuthorizationUrl(web, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge,
        code_challenge_method: 'S256',
        state: 's',
        nonce: 'n',
      });
      const { response } = await browser.follow(url.href, REDIRECT);
      const page = await response.text();
      return { action: formActionOf(page, auth.origin), csrf: csrfOf(page) };
    }

    it('refuses a sign-in form without the CSRF token, and an unknown interaction, with an error page', async () => {
      const browser = new TestBrowser();
      const { action } = await loginPage(browser);
      const forged = await browser.request(action, { form: { username: user.username, password: user.password } });
      expect(forged.status).toBe(400);
      expect(forged.headers.get('content-type')).toMatch(/^text\/html/);
      const unknown = await new TestBrowser().request(`${auth.origin}/interaction/not-a-real-uid`);
      expect(unknown.status).toBe(400);
      expect(await unknown.text()).toContain('Sign-in could not continue');
    });

    it('refuses an oversized or non-form sign-in post with 413/415 and keeps serving', async () => {
      const browser = new TestBrowser();
      const { action, csrf } = await loginPage(browser);
      const huge = await fetch(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf=${csrf}&username=${'a'.repeat(200_000)}`,
      });
      expect(huge.status).toBe(413);
      const json = await fetch(action, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(json.status).toBe(415);
      expect((await fetch(`${auth.origin}/health/live`)).status).toBe(200);
    });

    it("refuses another tenant's account at this tenant's client, and signs in the same name of its own tenant", async () => {
      // Same username in two tenants: the client decides which tenant's accounts it signs in.
      const other = `t-${randomBytes(4).toString('hex')}`;
      const username = `dana-${randomBytes(3).toString('hex')}`;
      const foreignId = await auth.createAccount(other, username, 'dana of the other tenant passphrase', ['end-user']);
      const anonymousFailures = () =>
        auth.received(
          'traceo.audit.record.v1',
          (e) =>
            e['tenantid'] === tenant &&
            e['data'].action === 'auth.sign-in' &&
            e['data'].resultCode === 'AUTH.INVALID_CREDENTIALS' &&
            e['data'].subjectId === undefined,
        ).length;
      const before = anonymousFailures();
      const browser = new TestBrowser();
      const page = await loginPage(browser);
      const refused = await browser.request(page.action, {
        form: { csrf: page.csrf, username, password: 'dana of the other tenant passphrase' },
      });
      expect(refused.status).toBe(401);
      expect(await refused.text()).toContain('The username or password is not correct.');
      // Audited in this tenant as a failure for an unknown name.
      await waitFor(() => Promise.resolve(anonymousFailures() > before), 'the refused sign-in audited', 15000, 50);
      // Nothing was recorded against the other tenant's account.
      expect(
        auth.received('traceo.audit.record.v1', (e) => e['data'].subjectId === foreignId && e['data'].action === 'auth.sign-in'),
      ).toEqual([]);
      const ownId = await auth.createAccount(tenant, username, 'dana of this tenant has another one', ['end-user']);
      const signedIn = await signIn(
        web,
        auth.origin,
        { username, password: 'dana of this tenant has another one' },
        { redirectUri: REDIRECT },
      );
      const tokens = await oidc.authorizationCodeGrant(web, signedIn.callback, {
        pkceCodeVerifier: signedIn.verifier,
        expectedState: signedIn.state,
        expectedNonce: signedIn.nonce,
      });
      expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: ownId, tenant_id: tenant });
    });

    it('locks an account after 5 failed sign-ins: the right password is refused too, with Retry-After, and audited', async () => {
      const victim = { username: `carol-${randomBytes(3).toString('hex')}`, password: 'carol has a long passphrase too' };
      const carolId = await auth.createAccount(tenant, victim.username, victim.password, ['end-user']);
      const browser = new TestBrowser();
      const first = await loginPage(browser);
      const action = first.action;
      let csrf = first.csrf;
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        const response = await browser.request(action, { form: { csrf, username: victim.username, password: `wrong-${attempt}` } });
        expect(response.status).toBe(401);
        const page = await response.text();
        expect(page).toContain('The username or password is not correct.');
        csrf = csrfOf(page);
      }
      const locked = await browser.request(action, { form: { csrf, username: victim.username, password: victim.password } });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      // The lock is on the account, not the browser session.
      const other = new TestBrowser();
      const fresh = await loginPage(other);
      const again = await other.request(fresh.action, { form: { csrf: fresh.csrf, username: victim.username, password: victim.password } });
      expect(again.status).toBe(429);
      await auth.event(
        'traceo.audit.record.v1',
        (e) => e['tenantid'] === tenant && e['data'].action === 'auth.sign-in' && e['data'].resultCode === 'AUTH.LOCKED_OUT',
      );
      const failures = auth.received(
        'traceo.audit.record.v1',
        (e) => e['data'].action === 'auth.sign-in' && e['data'].subjectId === carolId,
      );
      expect(failures.length).toBeGreaterThanOrEqual(5);
    });
  });
});
