import { createHash, randomBytes } from 'node:crypto';
import { TokenVerifier } from '@traceo/security';
import { EventPublisher } from '@traceo/service-kit';
import { waitFor } from '@traceo/testing';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { csrfOf, formActionOf, TestBrowser } from '../../test/browser';
import { apiCall } from '../../test/api';
import {
  exchangeCode,
  nextTotpCode,
  pageTestAuthorizationUrl,
  relyingParty,
  signIn,
  submitPassword,
  type TestUser,
  tokenRequest,
} from '../../test/flows';

const SECRET = 'web-app-secret-0000000000000000000000000000';
const REDIRECT = 'https://app.traceo.test/callback';
const SIGNED_OUT = 'https://app.traceo.test/signed-out';

/**
 * The running auth-service (real PostgreSQL, Kafka and SoftHSM2) with openid-client 6 as the relying
 * party and a cookie-keeping fetch as the browser.
 */
describe('authorization code flow with PKCE (openid-client as relying party)', () => {
  let auth: AuthTestService;
  let config: oidc.Configuration;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const clientId = `web-${tenant}`;
  const user = { username: 'Alice@Example.com', password: 'a long and unguessable passphrase' };
  let accountId: string;

  /** The grant a refresh token belongs to, read from auth-service's store (which keeps tokens only as SHA-256 hashes). */
  async function grantIdOf(refreshToken: string): Promise<string> {
    const [row] = await auth.service.runtime.dataSource.query<{ grant_id: string }[]>(
      `SELECT grant_id FROM oidc_models WHERE model = 'RefreshToken' AND id_hash = $1`,
      [createHash('sha256').update(refreshToken, 'utf8').digest()],
    );
    if (!row) throw new Error('refresh token not stored');
    return row.grant_id;
  }

  beforeAll(async () => {
    auth = await startAuthTestService('auth_code', [
      {
        client_id: clientId,
        tenant_id: tenant,
        client_name: 'Web <App>',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: [SIGNED_OUT],
      },
      {
        client_id: `cli-${tenant}`,
        tenant_id: tenant,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
      },
      { client_id: `dpop-${tenant}`, tenant_id: tenant, client_secret: SECRET, redirect_uris: [REDIRECT], dpop_bound_access_tokens: true },
    ]);
    accountId = await auth.createAccount(tenant, 'alice@example.com', user.password, ['end-user']);
    config = await relyingParty(auth.issuer, clientId, SECRET);
  });

  afterAll(async () => {
    await auth?.close();
  });

  const login = (browser?: TestBrowser) => signIn(config, auth.origin, user, { redirectUri: REDIRECT, ...(browser ? { browser } : {}) });
  const exchange = (signedIn: Awaited<ReturnType<typeof login>>) => exchangeCode(config, signedIn, { idTokenExpected: true });
  const exchangeFor = async (who: TestUser) => exchangeCode(config, await signIn(config, auth.origin, who, { redirectUri: REDIRECT }));
  const token = (params: Record<string, string>) =>
    tokenRequest(config.serverMetadata().token_endpoint!, { id: clientId, secret: SECRET }, params);

  it('signs a user in and issues a 15-minute ES256 JWT access token for the resource, an ID token and a refresh token', async () => {
    const signedIn = await login();
    expect(signedIn.callback.searchParams.get('iss')).toBe(auth.issuer); // RFC 9207
    const tokens = await exchange(signedIn);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBe(900);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({
      iss: auth.issuer,
      aud: 'urn:traceo:api',
      sub: accountId,
      client_id: clientId,
      tenant_id: tenant,
      roles: ['end-user'],
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    // No nbf: Kong's jwt plugin is configured to check exp only, since it refuses a token lacking a
    // claim it is told to check (tools/kong/kong-config.mjs, AUTH_SERVICE_ACCESS_TOKEN).
    expect(claims).not.toHaveProperty('nbf');
    expect(tokens.claims()).toMatchObject({ sub: accountId, nonce: signedIn.nonce, iss: auth.issuer, aud: clientId });
  });

  it('issues access tokens the shared guard verifies against the JWKS, and that other audiences refuse', async () => {
    const tokens = await exchange(await login());
    const jwksUrl = `${auth.issuer}/jwks`;
    const principal = await new TokenVerifier({ issuer: auth.issuer, audience: 'urn:traceo:api', keys: { jwksUrl } }).verify(
      tokens.access_token,
    );
    expect(principal).toMatchObject({ subject: accountId, tenantId: tenant, roles: ['end-user'], via: 'jwt', clientId });
    expect(principal.permissions).toContain('auth:self');
    expect(principal.permissions).not.toContain('crypto:decrypt');
    const other = new TokenVerifier({ issuer: auth.issuer, audience: 'https://other-api.traceo.test', keys: { jwksUrl } });
    await expect(other.verify(tokens.access_token)).rejects.toMatchObject({ code: 'AUTH.UNAUTHENTICATED' });
    const foreignIssuer = new TokenVerifier({ issuer: 'https://elsewhere.traceo.test', audience: 'urn:traceo:api', keys: { jwksUrl } });
    await expect(foreignIssuer.verify(tokens.access_token)).rejects.toMatchObject({ code: 'AUTH.UNAUTHENTICATED' });
  });

  it('rotates the refresh token on every use; each new access token is valid; each refresh is an audit record', async () => {
    const first = await exchange(await login());
    const grantId = await grantIdOf(first.refresh_token!);
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const third = await oidc.refreshTokenGrant(config, second.refresh_token!);
    expect(third.refresh_token).not.toBe(second.refresh_token);
    expect(decodeJwt(third.access_token)).toMatchObject({ sub: accountId, aud: 'urn:traceo:api', tenant_id: tenant });
    const refreshedRecords = () =>
      auth.received('traceo.audit.record.v1', (e) => e['data'].action === 'auth.token.refreshed' && e['data'].resource.id === grantId);
    await waitFor(() => Promise.resolve(refreshedRecords().length >= 2), 'two auth.token.refreshed records', 15000, 50);
    for (const record of refreshedRecords()) {
      expect(record['tenantid']).toBe(tenant);
      expect(record['data']).toMatchObject({
        status: 'success',
        actor: { type: 'user', id: accountId },
        resource: { type: 'oauth-grant', id: grantId },
        details: { grantType: 'refresh_token', clientId },
      });
    }
    expect(JSON.stringify(refreshedRecords())).not.toContain(first.refresh_token!);
  });

  it('revokes the whole family when a rotated refresh token is reused, with an audit record and a security event', async () => {
    const first = await exchange(await login());
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    const reuse = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(reuse.status).toBe(400);
    expect(reuse.body).toMatchObject({ error: 'invalid_grant' });
    // The legitimate holder's newer token died with the family.
    const afterwards = await token({ grant_type: 'refresh_token', refresh_token: second.refresh_token! });
    expect(afterwards.status).toBe(400);
    expect(afterwards.body).toMatchObject({ error: 'invalid_grant' });
    const security = await auth.event(
      'traceo.auth.refresh-token-reused.v1',
      (e) => e['tenantid'] === tenant && e['data'].credential === 'refresh_token',
    );
    expect(security['data']).toMatchObject({ clientId, accountId, rotations: 0, grantId: expect.any(String) });
    const audit = await auth.event(
      'traceo.audit.record.v1',
      (e) => e['tenantid'] === tenant && e['data'].action === 'auth.refresh-token-reused',
    );
    expect(audit['data']).toMatchObject({ status: 'denied', actor: { type: 'user', id: accountId }, details: { family: 'revoked' } });
    expect(JSON.stringify([security, audit])).not.toContain(first.refresh_token!);
  });

  it('lets only one of two concurrent uses of a refresh token succeed, and revokes the family', async () => {
    const first = await exchange(await login());
    const results = await Promise.all([1, 2].map(() => token({ grant_type: 'refresh_token', refresh_token: first.refresh_token! })));
    expect(results.map((result) => result.status).sort()).toEqual([200, 400]);
    const winner = results.find((result) => result.status === 200)!;
    const afterwards = await token({ grant_type: 'refresh_token', refresh_token: String(winner.body['refresh_token']) });
    expect(afterwards).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('introspects refresh tokens (valid 30 days) and revokes them with an audit record (RFC 7662, RFC 7009)', async () => {
    const tokens = await exchange(await login());
    const grantId = await grantIdOf(tokens.refresh_token!);
    const active = await oidc.tokenIntrospection(config, tokens.refresh_token!);
    expect(active).toMatchObject({ active: true, client_id: clientId, sub: accountId });
    expect(active.exp! - active.iat!).toBe(30 * 86_400);
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    const revoked = await auth.event(
      'traceo.audit.record.v1',
      (e) => e['data'].action === 'auth.grant.revoked' && e['data'].resource.id === grantId,
    );
    expect(revoked['tenantid']).toBe(tenant);
    expect(revoked['data']).toMatchObject({ status: 'success', resource: { type: 'oauth-grant', id: grantId }, details: { clientId } });
    await expect(oidc.tokenIntrospection(config, tokens.refresh_token!)).resolves.toMatchObject({ active: false });
    const refresh = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('stores no usable code, refresh token or signing key in PostgreSQL', async () => {
    const tokens = await exchange(await login());
    const dump = await auth.service.runtime.dataSource.query<{ text: string }[]>(
      `SELECT string_agg(payload::text, ' ') AS text FROM oidc_models UNION ALL SELECT string_agg(public_jwk::text, ' ') FROM signing_keys`,
    );
    const stored = dump.map((row) => row.text).join(' ');
    expect(stored).not.toContain(tokens.refresh_token!);
    expect(stored).not.toContain('"d":');
  });

  it('ends the session with RP-initiated logout and returns to the registered post-logout URI', async () => {
    const browser = new TestBrowser();
    const tokens = await exchange(await login(browser));
    const signOuts = () => auth.received('traceo.audit.record.v1', (e) => e['tenantid'] === tenant && e['data'].action === 'auth.sign-out');
    const signOutsBefore = signOuts().length;
    const url = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: SIGNED_OUT, state: 'bye' });
    const { response } = await browser.follow(url.href, SIGNED_OUT);
    const page = await response.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
    const action = /action="([^"]+)"/.exec(page)?.[1];
    expect(xsrf && action).toBeTruthy();
    const done = await browser.follow(new URL(action!.replace(/&amp;/g, '&'), auth.origin).href, SIGNED_OUT, {
      form: { xsrf: xsrf!, logout: 'yes' },
    });
    expect(done.url).toBe(`${SIGNED_OUT}?state=bye`);
    // The grant went with the session: its refresh token no longer works.
    expect(await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    // The next authorization request asks the browser to sign in again.
    await expect(login(browser)).resolves.toBeDefined();
    // The sign-out is an audit record.
    await waitFor(() => Promise.resolve(signOuts().length > signOutsBefore), 'an auth.sign-out record', 15000, 50);
    expect(signOuts().at(-1)!['data']).toMatchObject({ status: 'success', resource: { type: 'session' }, details: { clientId } });
  });

  it('accepts pushed authorization requests (RFC 9126)', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT,
      scope: 'openid api',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'par-state',
      nonce: 'par-nonce',
    });
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const { response } = await new TestBrowser().follow(url.href, REDIRECT);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Sign in');
  });

  it('serves a public native app (no secret) on a loopback redirect URI with PKCE and rotating refresh tokens', async () => {
    const cli = await relyingParty(auth.issuer, `cli-${tenant}`);
    const redirectUri = 'http://127.0.0.1:49152/callback';
    const signedIn = await signIn(cli, auth.origin, user, { redirectUri });
    const tokens = await exchangeCode(cli, signedIn);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ client_id: `cli-${tenant}`, sub: accountId });
    const refreshed = await oidc.refreshTokenGrant(cli, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('binds the tokens of a DPoP client to its key (RFC 9449) and refuses it tokens without a proof', async () => {
    const dpopConfig = await relyingParty(auth.issuer, `dpop-${tenant}`, SECRET);
    const without = await signIn(dpopConfig, auth.origin, user, { redirectUri: REDIRECT });
    await expect(exchangeCode(dpopConfig, without)).rejects.toMatchObject({ error: 'invalid_grant' });
    const DPoP = oidc.getDPoPHandle(dpopConfig, await oidc.randomDPoPKeyPair('ES256'));
    const signedIn = await signIn(dpopConfig, auth.origin, user, { redirectUri: REDIRECT });
    const tokens = await exchangeCode(dpopConfig, signedIn, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ cnf: { jkt: expect.any(String) } });
    const refreshed = await oidc.refreshTokenGrant(dpopConfig, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');
    // The refresh token is useless without the key, even with the client's own credentials.
    const stolen = await tokenRequest(
      config.serverMetadata().token_endpoint!,
      { id: `dpop-${tenant}`, secret: SECRET },
      {
        grant_type: 'refresh_token',
        refresh_token: refreshed.refresh_token!,
      },
    );
    expect(stolen).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  describe('registration API', () => {
    const api = (method: string, path: string, accessToken: string, body?: unknown) =>
      apiCall(auth.origin, method, path, accessToken, body);
    const admin: TestUser = { username: 'root@example.com', password: 'platform admin passphrase' };
    let adminToken: string;

    it('has a platform admin enroll TOTP at the first sign-in (MFA required for the role), then asks for a code', async () => {
      await auth.createAccount(tenant, admin.username, admin.password, ['platform-admin']);
      const first = await exchangeFor(admin); // the helper meets the enrollment page, adds the key, confirms with a code
      expect(admin.totp?.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(admin.recoveryCodes).toHaveLength(10);
      expect(admin.recoveryCodes![0]).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
      expect(first.claims()).toMatchObject({ acr: 'urn:traceo:acr:mfa', amr: ['pwd', 'otp'] });
      adminToken = first.access_token;
      const [row] = await auth.service.runtime.dataSource.query<{ secret_wrapped: Buffer }[]>(
        'SELECT secret_wrapped FROM totp_factors JOIN accounts USING (account_id) WHERE username = $1',
        [admin.username],
      );
      expect(row!.secret_wrapped.toString('latin1')).not.toContain(admin.totp!.secret);

      // Next sign-in: password, then a wrong code (refused), then the right one.
      const browser = new TestBrowser();
      const url = await pageTestAuthorizationUrl(config, REDIRECT);
      const codePage = await submitPassword(browser, url, auth.origin, admin, REDIRECT);
      expect(codePage).toContain('Enter your verification code');
      const wrong = await browser.request(formActionOf(codePage, auth.origin), { form: { csrf: csrfOf(codePage), code: '000000' } });
      expect(wrong.status).toBe(401);
      const retry = await wrong.text();
      expect(retry).toContain('The code is not correct.');
      const code = await nextTotpCode(admin);
      const done = await browser.follow(formActionOf(retry, auth.origin), REDIRECT, { form: { csrf: csrfOf(retry), code } });
      expect(done.url.startsWith(REDIRECT) || done.response.status === 200).toBe(true);
      // The same code cannot sign in again (RFC 6238 §5.2).
      const again = new TestBrowser();
      const secondCodePage = await submitPassword(again, url, auth.origin, admin, REDIRECT);
      const replay = await again.request(formActionOf(secondCodePage, auth.origin), { form: { csrf: csrfOf(secondCodePage), code } });
      expect(replay.status).toBe(401);
      expect(await replay.text()).toContain('already used');
      await auth.event(
        'traceo.audit.record.v1',
        (e) => e['tenantid'] === tenant && e['data'].action === 'auth.mfa.enrolled' && e['data'].status === 'success',
      );
      await auth.event(
        'traceo.audit.record.v1',
        (e) => e['tenantid'] === tenant && e['data'].action === 'auth.mfa.verified' && e['data'].status === 'failure',
      );
    });

    it('signs a platform admin in once with each recovery code (stored only as argon2id hashes)', async () => {
      const recoveryCode = admin.recoveryCodes![0]!;
      const rows = await auth.service.runtime.dataSource.query<{ hash: string }[]>('SELECT hash FROM recovery_codes');
      expect(rows.every((row) => row.hash.startsWith('$argon2id$'))).toBe(true);
      expect(JSON.stringify(rows)).not.toContain(recoveryCode.replace(/-/g, ''));
      const attempt = async (code: string) => {
        const browser = new TestBrowser();
        const codePage = await submitPassword(browser, await pageTestAuthorizationUrl(config, REDIRECT), auth.origin, admin, REDIRECT);
        return browser.follow(formActionOf(codePage, auth.origin), REDIRECT, {
          form: { csrf: csrfOf(codePage), recovery_code: code.toLowerCase() },
        });
      };
      const first = await attempt(recoveryCode);
      expect(first.response.status === 200 || first.url.startsWith(REDIRECT)).toBe(true);
      expect(first.url).not.toMatch(/\/totp$/);
      const again = await attempt(recoveryCode);
      expect(again.response.status).toBe(401);
      await auth.event(
        'traceo.audit.record.v1',
        (e) =>
          e['tenantid'] === tenant && e['data'].action === 'auth.mfa.recovery-code-used' && e['data'].details.remainingRecoveryCodes === 9,
      );
    });

    it('lets a platform admin register a client that can then sign users in; others are refused', async () => {
      const newId = `app-${tenant}`;
      const created = await api('POST', `/v1/auth/tenants/${tenant}/clients`, adminToken, {
        client_id: newId,
        client_name: 'New App',
        redirect_uris: [REDIRECT],
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        client_id: newId,
        tenant_id: tenant,
        grant_types: ['authorization_code', 'refresh_token'],
        client_secret: expect.any(String),
      });
      const secret = String(created.body['client_secret']);
      const shown = await api('GET', `/v1/auth/tenants/${tenant}/clients/${newId}`, adminToken);
      expect(shown.status).toBe(200);
      expect(JSON.stringify(shown.body)).not.toContain(secret);
      const appConfig = await relyingParty(auth.issuer, newId, secret);
      const signedIn = await signIn(appConfig, auth.origin, user, { redirectUri: REDIRECT });
      const tokens = await exchangeCode(appConfig, signedIn);
      expect(decodeJwt(tokens.access_token)).toMatchObject({ client_id: newId, sub: accountId });

      const duplicate = await api('POST', `/v1/auth/tenants/${tenant}/clients`, adminToken, {
        client_id: newId,
        redirect_uris: [REDIRECT],
      });
      expect(duplicate).toMatchObject({ status: 409, body: { code: 'AUTH.CLIENT_EXISTS' } });
      const insecure = await api('POST', `/v1/auth/tenants/${tenant}/clients`, adminToken, {
        client_id: `bad-${tenant}`,
        redirect_uris: ['http://app.test/cb'],
      });
      expect(insecure.status).toBe(400);
      expect(insecure.type).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(insecure.body)).toContain('must be an https URI');
      const otherTenant = await api('POST', '/v1/auth/tenants/someone-else/clients', adminToken, {
        client_id: `x-${tenant}`,
        redirect_uris: [REDIRECT],
      });
      expect(otherTenant).toMatchObject({ status: 403, body: { code: 'AUTH.TENANT_MISMATCH' } });
      const userToken = (await exchangeFor(user)).access_token;
      const forbidden = await api('POST', `/v1/auth/tenants/${tenant}/clients`, userToken, {
        client_id: `y-${tenant}`,
        redirect_uris: [REDIRECT],
      });
      expect(forbidden).toMatchObject({ status: 403, body: { code: 'AUTH.FORBIDDEN' } });
      await auth.event(
        'traceo.audit.record.v1',
        (e) => e['tenantid'] === tenant && e['data'].action === 'auth.client.registered' && e['data'].resource.id === newId,
      );
    });

    it('lets a platform admin end the sessions of an account over HTTP; others are refused', async () => {
      const tokens = await exchange(await login());
      const path = `/v1/auth/tenants/${tenant}/accounts/${accountId}/sessions/revoke`;
      const revoked = await api('POST', path, adminToken, { reason: 'incident 42' });
      expect(revoked.status).toBe(200);
      expect(revoked.body['revokedEntries']).toBeGreaterThan(0);
      expect(await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })).toMatchObject({ status: 400 });
      const unknown = await api(
        'POST',
        `/v1/auth/tenants/${tenant}/accounts/00000000-0000-4000-8000-000000000000/sessions/revoke`,
        adminToken,
        { reason: 'x' },
      );
      expect(unknown).toMatchObject({ status: 404, body: { code: 'AUTH.ACCOUNT_NOT_FOUND' } });
      const userToken = (await exchange(await login())).access_token;
      expect((await api('POST', path, userToken, { reason: 'x' })).status).toBe(403);
    });

    it('lets a platform admin create accounts (argon2id), refusing duplicates and weak passwords', async () => {
      const created = await api('POST', `/v1/auth/tenants/${tenant}/accounts`, adminToken, {
        username: 'dave',
        password: 'dave passphrase 123',
        roles: ['auditor'],
      });
      expect(created).toMatchObject({ status: 201, body: { username: 'dave', roles: ['auditor'], tenantId: tenant } });
      expect(
        await api('POST', `/v1/auth/tenants/${tenant}/accounts`, adminToken, { username: 'DAVE', password: 'dave passphrase 123' }),
      ).toMatchObject({
        status: 409,
        body: { code: 'AUTH.ACCOUNT_EXISTS' },
      });
      expect((await api('POST', `/v1/auth/tenants/${tenant}/accounts`, adminToken, { username: 'erin', password: 'short' })).status).toBe(
        400,
      );
      const [row] = await auth.service.runtime.dataSource.query<{ password_hash: string }[]>(
        'SELECT password_hash FROM accounts WHERE username = $1',
        ['dave'],
      );
      expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });
  });

  it('ends every session and grant of an account on a session-revoke command from Kafka', async () => {
    const tokens = await exchange(await login());
    const publisher = auth.service.app.get(EventPublisher);
    const started = Date.now();
    await publisher.publish([
      publisher.event('traceo.auth.session-revoke.v1', tenant, {
        occurredAt: new Date().toISOString(),
        accountId,
        reason: 'test: account compromised',
        requestedBy: { type: 'service', id: 'risk-service' },
      }),
    ]);
    // Introspection does not consume the token, so probing cannot itself trigger reuse detection.
    await waitFor(async () => !(await oidc.tokenIntrospection(config, tokens.refresh_token!)).active, 'refresh token revoked', 15000, 50);
    const elapsed = Date.now() - started;
    expect(await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    const audit = await auth.event(
      'traceo.audit.record.v1',
      (e) =>
        e['tenantid'] === tenant &&
        e['data'].action === 'auth.sessions.revoked' &&
        e['data'].details.reason === 'test: account compromised',
    );
    expect(audit['data']).toMatchObject({
      actor: { type: 'service', id: 'risk-service' },
      subjectId: accountId,
      details: { reason: 'test: account compromised' },
    });
    expect(audit['data'].details.revokedEntries).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(15000);
  });

  it('steps an end user up to a second factor when the client asks for acr urn:traceo:acr:mfa', async () => {
    const erin: TestUser = { username: 'erin', password: 'erin has a passphrase too' };
    await auth.createAccount(tenant, erin.username, erin.password, ['end-user']);
    const plain = await signIn(config, auth.origin, erin, { redirectUri: REDIRECT });
    const plainTokens = await exchangeCode(config, plain);
    expect(plainTokens.claims()).toMatchObject({ acr: 'urn:traceo:acr:pwd', amr: ['pwd'] });
    expect(erin.totp).toBeUndefined();
    // Same browser session, but the client now asks for MFA: sign-in again, with enrollment.
    const stepped = await signIn(config, auth.origin, erin, {
      redirectUri: REDIRECT,
      browser: plain.browser,
      extra: { acr_values: 'urn:traceo:acr:mfa' },
    });
    const steppedTokens = await exchangeCode(config, stepped);
    expect(erin.totp?.secret).toBeDefined();
    expect(steppedTokens.claims()).toMatchObject({ acr: 'urn:traceo:acr:mfa', amr: ['pwd', 'otp'] });
  });

  it('puts the sign-in acr, amr and auth_time in user access tokens (RFC 9068), also in those a refresh issues', async () => {
    const frank: TestUser = { username: 'frank', password: 'frank signs in with two factors' };
    await auth.createAccount(tenant, frank.username, frank.password, ['end-user']);
    const signedIn = await signIn(config, auth.origin, frank, { redirectUri: REDIRECT, extra: { acr_values: 'urn:traceo:acr:mfa' } });
    const tokens = await exchangeCode(config, signedIn);
    const authTime = tokens.claims()!.auth_time;
    expect(authTime).toEqual(expect.any(Number));
    const authentication = { acr: 'urn:traceo:acr:mfa', amr: ['pwd', 'otp'], auth_time: authTime };
    expect(decodeJwt(tokens.access_token)).toMatchObject(authentication);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a later iat than auth_time
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    const refreshedClaims = decodeJwt(refreshed.access_token);
    expect(refreshedClaims).toMatchObject(authentication);
    expect(refreshedClaims.iat).toBeGreaterThan(authTime!);
    // A password-only sign-in says so.
    expect(decodeJwt((await exchange(await login())).access_token)).toMatchObject({ acr: 'urn:traceo:acr:pwd', amr: ['pwd'] });
  });

  it('records the sign-in and the token issue as audit records on Kafka', async () => {
    await exchange(await login());
    await auth.event(
      'traceo.audit.record.v1',
      (e) => e['tenantid'] === tenant && e['data'].action === 'auth.sign-in' && e['data'].status === 'success',
    );
    await auth.event('traceo.audit.record.v1', (e) => e['tenantid'] === tenant && e['data'].action === 'auth.token.issued');
  });
});
