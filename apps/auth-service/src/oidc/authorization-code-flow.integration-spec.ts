import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { csrfOf, formActionOf, TestBrowser } from '../../test/browser';

const SECRET = 'web-app-secret-0000000000000000000000000000';
const REDIRECT = 'https://app.traceo.test/callback';

/**
 * The running auth-service (real PostgreSQL, Kafka and SoftHSM2) with openid-client 6 as the relying
 * party and a cookie-keeping fetch as the browser.
 */
describe('authorization code flow with PKCE (openid-client as relying party)', () => {
  let auth: AuthTestService;
  let config: oidc.Configuration;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const password = 'a long and unguessable passphrase';
  let accountId: string;

  beforeAll(async () => {
    auth = await startAuthTestService('auth_code', [
      {
        client_id: `web-${tenant}`,
        tenant_id: tenant,
        client_name: 'Web <App>',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: ['https://app.traceo.test/signed-out'],
      },
    ]);
    accountId = await auth.createAccount(tenant, 'alice@example.com', password, ['key-user']);
    config = await oidc.discovery(new URL(auth.issuer), `web-${tenant}`, SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
  });

  afterAll(async () => {
    await auth?.close();
  });

  /** Starts an authorization request, signs in and consents; returns the callback URL and the checks. */
  async function signIn(extra: Record<string, string> = {}) {
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
      ...extra,
    });
    const browser = new TestBrowser();
    let { response } = await browser.follow(url.href, REDIRECT);
    let at: string;
    expect(response.status).toBe(200);
    let page = await response.text();
    expect(page).toContain('Web &lt;App&gt;');
    ({ response, url: at } = await browser.follow(formActionOf(page, auth.origin), REDIRECT, {
      form: { csrf: csrfOf(page), username: 'Alice@Example.com', password },
    }));
    if (!at.startsWith(REDIRECT)) {
      page = await response.text();
      expect(page).toContain('Allow access?');
      ({ url: at } = await browser.follow(formActionOf(page, auth.origin), REDIRECT, { form: { csrf: csrfOf(page), decision: 'allow' } }));
    }
    expect(at.startsWith(REDIRECT)).toBe(true);
    return { callback: new URL(at), verifier, state, nonce, browser };
  }

  it('signs a user in and issues a 15-minute ES256 JWT access token for the resource, an ID token and a refresh token', async () => {
    const { callback, verifier, state, nonce } = await signIn();
    expect(callback.searchParams.get('iss')).toBe(auth.issuer); // RFC 9207
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBe(900);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const header = decodeProtectedHeader(tokens.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({
      iss: auth.issuer,
      aud: 'urn:traceo:api',
      sub: accountId,
      client_id: `web-${tenant}`,
      tenant_id: tenant,
      roles: ['key-user'],
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(tokens.claims()).toMatchObject({ sub: accountId, nonce, iss: auth.issuer });
  });

  it('records the sign-in and the token issue as audit records on Kafka', async () => {
    await signIn();
    await auth.event(
      'traceo.audit.record.v1',
      (e) => e['tenantid'] === tenant && e['data'].action === 'auth.sign-in' && e['data'].status === 'success',
    );
  });
});
