import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { csrfOf, formActionOf, TestBrowser } from '../../test/browser';
import { nextTotpCode, relyingParty, type TestUser } from '../../test/flows';
import { freeLoopbackPort, startUpstreamIdp, type UpstreamIdp } from '../../test/upstream-idp';

const SECRET = 'web-app-secret-0000000000000000000000000000';
const UPSTREAM_SECRET = 'upstream-client-secret-000000000000000';
const REDIRECT = 'https://app.traceo.test/callback';

/**
 * Sign-in through an upstream enterprise IdP: a second oidc-provider instance on a loopback port, the
 * real auth-service (PostgreSQL, Kafka, SoftHSM2) as its relying party through openid-client, and a
 * cookie-keeping fetch as the browser.
 */
describe('federated sign-in through an upstream OpenID provider', () => {
  let auth: AuthTestService;
  let upstream: UpstreamIdp;
  let config: oidc.Configuration;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const otherTenant = `o-${randomBytes(4).toString('hex')}`;
  const clientId = `web-${tenant}`;

  beforeAll(async () => {
    const upstreamPort = await freeLoopbackPort();
    const upstreamIssuer = `http://127.0.0.1:${upstreamPort}`;
    auth = await startAuthTestService(
      'federation',
      [{ client_id: clientId, tenant_id: tenant, client_secret: SECRET, redirect_uris: [REDIRECT] }],
      () => ({
        TRACEO_AUTH_UPSTREAM_IDPS: JSON.stringify([
          {
            id: 'corp',
            tenant_id: tenant,
            display_name: 'Corp <SSO>',
            issuer: upstreamIssuer,
            client_id: 'traceo',
            client_secret: UPSTREAM_SECRET,
            roles_claim: 'groups',
            role_mapping: { 'crypto-users': ['key-user'] },
          },
          {
            id: 'elsewhere',
            tenant_id: otherTenant,
            display_name: 'Elsewhere',
            issuer: upstreamIssuer,
            client_id: 'traceo',
            client_secret: UPSTREAM_SECRET,
          },
        ]),
      }),
    );
    upstream = await startUpstreamIdp({
      port: upstreamPort,
      clientId: 'traceo',
      clientSecret: UPSTREAM_SECRET,
      redirectUri: `${auth.origin}/federation/callback`,
    });
    config = await relyingParty(auth.issuer, clientId, SECRET);
  });

  afterAll(async () => {
    await upstream?.close();
    await auth?.close();
  });

  afterEach(() => upstream.tamperIdToken(undefined));

  /** Opens Traceo's sign-in page for the app and presses "Sign in with <idp>"; stops where the upstream sends the browser back. */
  async function startFederation(idp = 'corp') {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile api',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const browser = new TestBrowser();
    const { response } = await browser.follow(url.href, REDIRECT);
    const page = await response.text();
    const action = /<form method="post" action="([^"]+\/federate)"/.exec(page)?.[1];
    if (!action) throw new Error(`no federation button: ${page.slice(0, 500)}`);
    const upstreamLeg = await browser.follow(new URL(action, auth.origin).href, `${auth.origin}/federation/callback`, {
      form: { csrf: csrfOf(page), idp },
    });
    return { browser, page, verifier, state, nonce, callback: upstreamLeg.url, response: upstreamLeg.response };
  }

  /** Follows the callback through Traceo's remaining pages (TOTP, consent) to the app, and redeems the code. */
  async function finish(started: Awaited<ReturnType<typeof startFederation>>, user: TestUser = { username: '', password: '' }) {
    let { response, url: at } = await started.browser.follow(started.callback, REDIRECT);
    const pages: string[] = [];
    for (let step = 0; step < 4 && !at.startsWith(REDIRECT); step += 1) {
      if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${at}: ${(await response.text()).slice(0, 500)}`);
      const page = await response.text();
      pages.push(page);
      let form: Record<string, string>;
      if (page.includes('Set up two-step verification')) {
        user.totp = { secret: /<code>([A-Z2-7 ]+)<\/code>/.exec(page)![1]!.replace(/ /g, ''), lastStep: 0 };
        form = { csrf: csrfOf(page), code: await nextTotpCode(user) };
      } else if (page.includes('Save your recovery codes')) form = { csrf: csrfOf(page) };
      else if (page.includes('name="code"')) form = { csrf: csrfOf(page), code: await nextTotpCode(user) };
      else form = { csrf: csrfOf(page), decision: 'allow' };
      ({ response, url: at } = await started.browser.follow(formActionOf(page, auth.origin), REDIRECT, { form }));
    }
    const tokens = await oidc.authorizationCodeGrant(config, new URL(at), {
      pkceCodeVerifier: started.verifier,
      expectedState: started.state,
      expectedNonce: started.nonce,
      idTokenExpected: true,
    });
    return { tokens, pages };
  }

  const auditOf = (resultCode: string, match: (data: Record<string, unknown>) => boolean = () => true) =>
    auth.event(
      'traceo.audit.record.v1',
      (e) => e['data'].action === 'auth.federated-sign-in' && e['data'].resultCode === resultCode && match(e['data']),
    );

  it('offers "Sign in with <IdP>" on the sign-in page for the IdPs of the client\'s tenant only', async () => {
    upstream.signInAs({ sub: 'page-check' });
    const { page } = await startFederation();
    expect(page).toContain('Sign in with Corp &lt;SSO&gt;');
    expect(page).not.toContain('Elsewhere');
  });

  it('signs a new upstream user in just in time as an end-user, with amr fed, and links the same account next time', async () => {
    upstream.signInAs({ sub: 'alice', groups: ['platform-admin', 'unknown-group'] });
    const started = await startFederation();
    const upstreamCallback = new URL(started.callback);
    expect(upstreamCallback.searchParams.get('iss')).toBe(upstream.issuer);
    const { tokens } = await finish(started);
    const idToken = tokens.claims()!;
    expect(idToken).toMatchObject({ iss: auth.issuer, amr: ['fed'], acr: 'urn:traceo:acr:pwd', tenant_id: tenant, roles: ['end-user'] });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: idToken.sub, tenant_id: tenant, roles: ['end-user'] });
    const audit = await auditOf('AUTH.SIGNED_IN', (data) => (data['subjectId'] as string) === idToken.sub);
    expect(audit['tenantid']).toBe(tenant);
    expect(audit['data']).toMatchObject({
      status: 'success',
      resource: { type: 'identity-provider', id: 'corp' },
      details: { provisioned: true, roles: ['end-user'] },
    });

    upstream.signInAs({ sub: 'alice' });
    const again = await finish(await startFederation());
    expect(again.tokens.claims()!.sub).toBe(idToken.sub);
  });

  it("asks a federated account whose mapped role requires MFA for Traceo's TOTP, unless the upstream asserted MFA in amr", async () => {
    upstream.signInAs({ sub: 'carol', groups: ['crypto-users'], amr: ['pwd'] });
    const carol: TestUser = { username: 'carol', password: '' };
    const first = await finish(await startFederation(), carol);
    expect(first.pages.some((page) => page.includes('Set up two-step verification'))).toBe(true);
    expect(first.tokens.claims()).toMatchObject({
      amr: ['fed', 'otp'],
      acr: 'urn:traceo:acr:mfa',
      roles: expect.arrayContaining(['key-user', 'end-user']),
    });

    upstream.signInAs({ sub: 'dave', groups: ['crypto-users'], amr: ['pwd', 'mfa'] });
    const dave = await finish(await startFederation());
    expect(dave.pages.some((page) => page.includes('name="code"'))).toBe(false);
    expect(dave.tokens.claims()).toMatchObject({ amr: ['fed', 'mfa'], acr: 'urn:traceo:acr:mfa' });
  });

  it('refuses a callback whose state belongs to no sign-in in progress, and audits it', async () => {
    upstream.signInAs({ sub: 'mallory' });
    const started = await startFederation();
    const forged = new URL(started.callback);
    forged.searchParams.set('state', oidc.randomState());
    const refused = await started.browser.request(forged.href);
    expect(refused.status).toBe(400);
    const body = await refused.text();
    expect(body).toContain('AUTH.FEDERATION_STATE_INVALID');
    expect(body).not.toMatch(/at .*\.ts:\d+/);
    await auditOf('AUTH.FEDERATION_STATE_INVALID');
  });

  it('refuses a replayed callback', async () => {
    upstream.signInAs({ sub: 'replayer' });
    const started = await startFederation();
    const first = await started.browser.request(started.callback);
    expect(first.status).toBe(303);
    const replay = await new TestBrowser().request(started.callback);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('AUTH.FEDERATION_REPLAYED');
    await auditOf('AUTH.FEDERATION_REPLAYED', (data) => (data['resource'] as { id: string }).id === 'corp');
  });

  it.each([
    ['a wrong nonce', (claims: Record<string, unknown>) => ({ ...claims, nonce: 'not-the-nonce' }), true, /nonce/],
    ['a wrong audience', (claims: Record<string, unknown>) => ({ ...claims, aud: 'another-client' }), true, /aud/],
    ['another issuer', (claims: Record<string, unknown>) => ({ ...claims, iss: 'https://evil.example' }), true, /iss/],
    ['an expired token', (claims: Record<string, unknown>) => ({ ...claims, exp: Math.floor(Date.now() / 1000) - 3600 }), true, /exp/],
    ['a broken signature', (claims: Record<string, unknown>) => ({ ...claims, sub: 'someone-else' }), false, /signature/i],
  ])('refuses an upstream ID token with %s', async (_name, change, resign, reason) => {
    upstream.signInAs({ sub: `victim-${randomBytes(3).toString('hex')}` });
    upstream.tamperIdToken(change, { resign });
    const started = await startFederation();
    const refused = await started.browser.request(started.callback);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('AUTH.FEDERATION_TOKEN_INVALID');
    const audit = await auditOf('AUTH.FEDERATION_TOKEN_INVALID', (data) =>
      reason.test(String((data['details'] as { reason?: string }).reason)),
    );
    expect(audit['tenantid']).toBe(tenant);
    expect(audit['data']).toMatchObject({ status: 'failure', resource: { type: 'identity-provider', id: 'corp' } });
  });

  it('refuses an upstream error answer (access_denied) and spends the flow', async () => {
    upstream.signInAs({ sub: 'refuser' });
    const started = await startFederation();
    const denied = new URL(started.callback);
    denied.searchParams.delete('code');
    denied.searchParams.set('error', 'access_denied');
    const refused = await started.browser.request(denied.href);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('AUTH.FEDERATION_UPSTREAM_ERROR');
    await auditOf(
      'AUTH.FEDERATION_UPSTREAM_ERROR',
      (data) => (data['details'] as { upstreamError?: string }).upstreamError === 'access_denied',
    );
    expect((await started.browser.request(started.callback)).status).toBe(400);
  });

  it('refuses an unknown IdP, and one configured for another tenant', async () => {
    for (const idp of ['nope', 'elsewhere']) {
      const started = await startFederation(idp);
      expect(started.response.status).toBe(404);
      expect(await started.response.text()).toContain('AUTH.FEDERATION_UNKNOWN_IDP');
      await auth.event(
        'traceo.audit.record.v1',
        (e) =>
          e['tenantid'] === tenant &&
          e['data'].action === 'auth.federated-sign-in' &&
          e['data'].resultCode === 'AUTH.FEDERATION_UNKNOWN_IDP' &&
          e['data'].details.requestedIdp === idp,
      );
    }
  });

  it('does not let the federated account sign in with a password', async () => {
    upstream.signInAs({ sub: 'erin' });
    await finish(await startFederation());
    const started = await startFederation();
    const login = await started.browser.request(formActionOf(started.page, auth.origin), {
      form: { csrf: csrfOf(started.page), username: 'corp/erin', password: '!federated' },
    });
    expect(login.status).toBe(401);
  });
});
