import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { TestBrowser } from '../../test/browser';
import { exchangeCode, relyingParty, signIn, type SignedIn } from '../../test/flows';

const SECRET = 'max-age-web-secret-000000000000000000000000';
const REDIRECT = 'https://app.traceo.test/callback';

/** Waits until the wall clock is at `unixSeconds` (auth_time and max_age count whole seconds). */
async function untilSecond(unixSeconds: number): Promise<void> {
  const wait = unixSeconds * 1000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 50));
}

/**
 * `max_age` (OpenID Connect Core §3.1.2.1) on the running auth-service: a browser session whose
 * sign-in is older than the client allows goes back to the password page, and the ID token then
 * says when the user signed in (`auth_time`, required when `max_age` was sent); a younger session,
 * or a request without `max_age`, signs in silently.
 */
describe('max_age: re-authentication of an older browser session', () => {
  let auth: AuthTestService;
  let config: oidc.Configuration;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const clientId = `web-${tenant}`;
  const user = { username: 'dana', password: 'dana signs in with a long passphrase' };

  beforeAll(async () => {
    auth = await startAuthTestService('auth_max_age', [
      { client_id: clientId, tenant_id: tenant, client_secret: SECRET, redirect_uris: [REDIRECT] },
    ]);
    await auth.createAccount(tenant, user.username, user.password, ['end-user']);
    config = await relyingParty(auth.issuer, clientId, SECRET);
  });

  afterAll(async () => {
    await auth?.close();
  });

  /** A new authorization request in the browser of `session`, with `extra` parameters. */
  const again = (session: SignedIn, extra: Record<string, string> = {}) =>
    signIn(config, auth.origin, user, { redirectUri: REDIRECT, browser: session.browser, extra });
  const idTokenOf = async (signedIn: SignedIn) => (await exchangeCode(config, signedIn, { idTokenExpected: true })).claims()!;

  /** A fresh browser signed in with its password; its ID token's auth_time. */
  async function signedInSession(): Promise<{ session: SignedIn; authTime: number }> {
    const session = await signIn(config, auth.origin, user, { redirectUri: REDIRECT, browser: new TestBrowser() });
    expect(session.pages).toContain('password');
    const authTime = (await idTokenOf(session)).auth_time;
    expect(authTime).toEqual(expect.any(Number));
    return { session, authTime: authTime! };
  }

  it.each([
    // oidc-provider turns max_age=0 into prompt=login (OIDC Core §3.1.2.1: the two are equivalent).
    ['0', 1],
    // Older than max_age means more than 1 s: two whole seconds after auth_time.
    ['1', 2],
  ])(
    'asks for the password again when the sign-in is older than max_age=%s, and the ID token carries the new auth_time',
    async (maxAge, secondsLater) => {
      const { session, authTime } = await signedInSession();
      await untilSecond(authTime + secondsLater);
      const reauthenticated = await again(session, { max_age: maxAge });
      expect(reauthenticated.pages).toEqual(['password']);
      const idToken = await idTokenOf(reauthenticated);
      expect(idToken.auth_time).toEqual(expect.any(Number));
      expect(idToken.auth_time).toBeGreaterThan(authTime);
    },
  );

  it('signs the same session in silently without max_age, and with a max_age its sign-in is within', async () => {
    const { session, authTime } = await signedInSession();
    await untilSecond(authTime + 1);
    const withoutMaxAge = await again(session);
    const withinMaxAge = await again(session, { max_age: '3600' });
    for (const silent of [withoutMaxAge, withinMaxAge]) {
      expect(silent.pages).toEqual([]);
      expect((await idTokenOf(silent)).auth_time).toBe(authTime);
    }
  });
});
