import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { csrfOf, formActionOf, TestBrowser } from '../../test/browser';
import { exchangeCode, pageTestAuthorizationUrl, relyingParty, signIn, submitPassword, type TestUser } from '../../test/flows';

const SECRET = 'recovery-app-secret-00000000000000000000000';
const REDIRECT = 'https://app.traceo.test/callback';

/** POST /v1/auth/me/recovery-codes on the running service (real PostgreSQL, Kafka, SoftHSM2). */
describe('regenerating recovery codes (self-service)', () => {
  let auth: AuthTestService;
  let config: oidc.Configuration;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const erin: TestUser = { username: 'erin', password: 'erin has a long passphrase' };
  let erinId: string;

  beforeAll(async () => {
    auth = await startAuthTestService('auth_recovery', [
      { client_id: `web-${tenant}`, tenant_id: tenant, client_secret: SECRET, redirect_uris: [REDIRECT] },
    ]);
    erinId = await auth.createAccount(tenant, erin.username, erin.password, ['end-user']);
    config = await relyingParty(auth.issuer, `web-${tenant}`, SECRET);
  });

  afterAll(async () => {
    await auth?.close();
  });

  const accessToken = async (extra?: Record<string, string>) => {
    const signedIn = await signIn(config, auth.origin, erin, { redirectUri: REDIRECT, ...(extra ? { extra } : {}) });
    const tokens = await exchangeCode(config, signedIn);
    return tokens.access_token;
  };
  const regenerate = (token?: string) =>
    fetch(`${auth.origin}/v1/auth/me/recovery-codes`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
  /** Password, then a recovery code instead of the TOTP code; true when the sign-in went through. */
  const signInWithRecoveryCode = async (code: string) => {
    const browser = new TestBrowser();
    const codePage = await submitPassword(browser, await pageTestAuthorizationUrl(config, REDIRECT), auth.origin, erin, REDIRECT);
    const result = await browser.follow(formActionOf(codePage, auth.origin), REDIRECT, {
      form: { csrf: csrfOf(codePage), recovery_code: code },
    });
    return result.response.status !== 401;
  };

  it('refuses a password-only access token with 403 problem+json AUTH.MFA_REQUIRED, and a missing one with 401', async () => {
    const refused = await regenerate(await accessToken());
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await refused.json()).toMatchObject({ status: 403, code: 'AUTH.MFA_REQUIRED' });
    expect((await regenerate()).status).toBe(401);
    await auth.event(
      'traceo.audit.record.v1',
      (e) => e['data'].action === 'auth.mfa.recovery-codes-regenerated' && e['data'].subjectId === erinId && e['data'].status === 'denied',
    );
  });

  it('returns ten new codes once after a second factor; the old ones stop working, the new ones work', async () => {
    const token = await accessToken({ acr_values: 'urn:traceo:acr:mfa' }); // enrolls TOTP, shows the first codes
    const old = erin.recoveryCodes!;
    expect(old).toHaveLength(10);
    const response = await regenerate(token);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { recoveryCodes } = (await response.json()) as { recoveryCodes: string[] };
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    expect(recoveryCodes.filter((code) => old.includes(code))).toEqual([]);
    const rows = await auth.service.runtime.dataSource.query<{ hash: string }[]>('SELECT hash FROM recovery_codes WHERE account_id = $1', [
      erinId,
    ]);
    expect(rows).toHaveLength(10);
    expect(JSON.stringify(rows)).not.toContain(recoveryCodes[0]!.replace(/-/g, ''));
    await auth.event(
      'traceo.audit.record.v1',
      (e) =>
        e['data'].action === 'auth.mfa.recovery-codes-regenerated' &&
        e['data'].subjectId === erinId &&
        e['data'].status === 'success' &&
        e['data'].details.count === 10,
    );
    await expect(signInWithRecoveryCode(old[0]!)).resolves.toBe(false);
    await expect(signInWithRecoveryCode(recoveryCodes[0]!)).resolves.toBe(true);
  });
});
