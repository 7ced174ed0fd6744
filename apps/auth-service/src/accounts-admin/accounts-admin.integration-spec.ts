/* eslint-disable @typescript-eslint/no-explicit-any -- tests explore JSON response bodies and audit records loosely */
import { randomBytes } from 'node:crypto';
import { PLATFORM_TENANT } from '@traceo/contracts';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { apiCall, clientCredentialsToken } from '../../test/api';
import { exchangeCode, relyingParty, signIn, type TestUser, tokenRequest } from '../../test/flows';

const SECRET = 'web-app-secret-0000000000000000000000000000';
const OPS_SECRET = 'ops-machine-secret-111111111111111111111111';
const REDIRECT = 'https://app.traceo.test/callback';

/**
 * The account administration API on the running auth-service (real PostgreSQL, Kafka, SoftHSM2):
 * tokens from the service itself (a platform-admin machine client per tenant, users signing in with
 * openid-client), audit records read back from Kafka.
 */
describe('account administration API', () => {
  let auth: AuthTestService;
  let web: oidc.Configuration;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const otherTenant = `u-${randomBytes(4).toString('hex')}`;
  const webId = `web-${tenant}`;
  const opsId = `ops-${tenant}`;
  const platformOpsId = `ops-platform-${tenant}`;
  const user = (name: string): TestUser => ({ username: `${name}@example.com`, password: `${name} has a long passphrase` });
  const admin = user('root');
  const bob = user('bob');
  const carol = user('carol');
  const erin = user('erin');
  const ids: Record<string, string> = {};
  let opsToken: string;
  let platformOpsToken: string;

  const machineToken = (clientId: string) =>
    clientCredentialsToken(web.serverMetadata().token_endpoint!, { id: clientId, secret: OPS_SECRET });
  /** The tenants API: `path` is relative to /v1/auth/tenants/. */
  const api = (method: string, path: string, accessToken: string, body?: unknown) =>
    apiCall(auth.origin, method, `/v1/auth/tenants/${path}`, accessToken, body);
  const account = (name: string, suffix = '') => `${tenant}/accounts/${ids[name]}${suffix}`;
  const signInTokens = async (who: TestUser) => exchangeCode(web, await signIn(web, auth.origin, who, { redirectUri: REDIRECT }));
  const refresh = (refreshToken: string) =>
    tokenRequest(
      web.serverMetadata().token_endpoint!,
      { id: webId, secret: SECRET },
      { grant_type: 'refresh_token', refresh_token: refreshToken },
    );
  const audit = (action: string, match: (data: Record<string, any>) => boolean = () => true, tenantId = tenant) =>
    auth.event('traceo.audit.record.v1', (e) => e['tenantid'] === tenantId && e['data'].action === action && match(e['data']));

  beforeAll(async () => {
    auth = await startAuthTestService('accounts_admin', [
      { client_id: webId, tenant_id: tenant, client_secret: SECRET, redirect_uris: [REDIRECT] },
      { client_id: opsId, tenant_id: tenant, client_secret: OPS_SECRET, grant_types: ['client_credentials'], roles: ['platform-admin'] },
      {
        client_id: platformOpsId,
        tenant_id: PLATFORM_TENANT,
        client_secret: OPS_SECRET,
        grant_types: ['client_credentials'],
        roles: ['platform-admin'],
      },
    ]);
    ids['root'] = await auth.createAccount(tenant, admin.username, admin.password, ['platform-admin']);
    ids['bob'] = await auth.createAccount(tenant, bob.username, bob.password, ['end-user']);
    ids['carol'] = await auth.createAccount(tenant, carol.username, carol.password, ['auditor']);
    ids['erin'] = await auth.createAccount(tenant, erin.username, erin.password, ['end-user']);
    ids['mallory'] = await auth.createAccount(otherTenant, 'mallory', 'mallory has a long passphrase', ['end-user']);
    web = await relyingParty(auth.issuer, webId, SECRET);
    opsToken = await machineToken(opsId);
    platformOpsToken = await machineToken(platformOpsId);
  });

  afterAll(async () => {
    await auth?.close();
  });

  it('shows an account: roles, disabled, whether it has a TOTP factor; never its password hash', async () => {
    const shown = await api('GET', account('bob'), opsToken);
    expect(shown).toMatchObject({
      status: 200,
      body: {
        accountId: ids['bob'],
        tenantId: tenant,
        username: bob.username,
        roles: ['end-user'],
        disabled: false,
        totpEnrolled: false,
        unusedRecoveryCodes: 0,
      },
    });
    expect(JSON.stringify(shown.body)).not.toMatch(/argon2|password/i);
  });

  it('grants and revokes roles with before/after audit records, ending the account’s refresh tokens', async () => {
    const tokens = await signInTokens(bob);
    const granted = await api('POST', account('bob', '/roles/grant'), opsToken, { roles: ['auditor'], reason: 'ticket 17' });
    expect(granted).toMatchObject({ status: 200, body: { changed: true, account: { roles: ['auditor', 'end-user'] } } });
    expect(granted.body['revokedEntries']).toBeGreaterThan(0);
    // The refresh token issued with the old roles died in the same transaction.
    expect(await refresh(tokens.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const record = await audit('auth.account.roles-changed', (data) => data.subjectId === ids['bob'] && data.details.granted !== undefined);
    expect(record['data']).toMatchObject({
      actor: { type: 'service', id: opsId },
      resource: { type: 'account', id: ids['bob'] },
      status: 'success',
      before: { roles: ['end-user'] },
      after: { roles: ['auditor', 'end-user'] },
      details: { reason: 'ticket 17', granted: ['auditor'], mfaRequired: true },
    });
    await audit('auth.sessions.revoked', (data) => data.subjectId === ids['bob'] && data.details.reason === 'roles changed: ticket 17');

    const again = await api('POST', account('bob', '/roles/grant'), opsToken, { roles: ['auditor'], reason: 'ticket 17' });
    expect(again).toMatchObject({ status: 200, body: { changed: false, revokedEntries: 0 } });

    const revoked = await api('POST', account('bob', '/roles/revoke'), opsToken, { roles: ['auditor'], reason: 'ticket 18' });
    expect(revoked).toMatchObject({ status: 200, body: { changed: true, account: { roles: ['end-user'] } } });
    const revokedRecord = await audit('auth.account.roles-changed', (data) => data.details.reason === 'ticket 18');
    expect(revokedRecord['data']).toMatchObject({
      before: { roles: ['auditor', 'end-user'] },
      after: { roles: ['end-user'] },
      details: { revoked: ['auditor'], mfaRequired: false },
    });
    expect(decodeJwt((await signInTokens(bob)).access_token)).toMatchObject({ roles: ['end-user'] });
  });

  it('has the next sign-in enroll TOTP once a role requiring MFA is granted', async () => {
    await signInTokens(erin);
    expect(erin.totp).toBeUndefined();
    await api('POST', account('erin', '/roles/grant'), opsToken, { roles: ['key-user'], reason: 'joins the crypto team' });
    const tokens = await signInTokens(erin); // the helper meets the enrollment page and adds the key
    expect(erin.totp?.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(tokens.claims()).toMatchObject({ acr: 'urn:traceo:acr:mfa', amr: ['pwd', 'otp'] });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ roles: ['key-user', 'end-user'] });
  });

  it('refuses an administrator changing their own roles, state or factor (403 AUTH.SELF_CHANGE_FORBIDDEN, audited as denied)', async () => {
    const adminToken = (await signInTokens(admin)).access_token;
    expect((await api('GET', account('bob'), adminToken)).status).toBe(200);
    for (const [suffix, body] of [
      ['/roles/grant', { roles: ['key-user'], reason: 'self' }],
      ['/roles/revoke', { roles: ['platform-admin'], reason: 'self' }],
      ['/disable', { reason: 'self' }],
      ['/enable', { reason: 'self' }],
      ['/mfa/reset', { reason: 'self' }],
    ] as const) {
      const refused = await api('POST', account('root', suffix), adminToken, body);
      expect(refused).toMatchObject({ status: 403, body: { code: 'AUTH.SELF_CHANGE_FORBIDDEN' } });
      expect(refused.type).toMatch(/^application\/problem\+json/);
    }
    expect((await api('GET', account('root'), opsToken)).body).toMatchObject({
      roles: ['platform-admin'],
      disabled: false,
      totpEnrolled: true,
    });
    const denied = await audit('auth.account.roles-changed', (data) => data.status === 'denied' && data.subjectId === ids['root']);
    expect(denied['data']).toMatchObject({ actor: { type: 'user', id: ids['root'] }, resultCode: 'AUTH.SELF_CHANGE_FORBIDDEN' });
  });

  it('refuses an administrator disabled or demoted since their token was issued (403 AUTH.CALLER_NOT_ACTIVE)', async () => {
    const adminToken = (await signInTokens(admin)).access_token;
    const tryDisable = () => api('POST', account('erin', '/disable'), adminToken, { reason: 'by a former admin' });
    await api('POST', account('root', '/disable'), opsToken, { reason: 'suspended' });
    expect(await tryDisable()).toMatchObject({ status: 403, body: { code: 'AUTH.CALLER_NOT_ACTIVE' } });
    await api('POST', account('root', '/enable'), opsToken, { reason: 'back' });
    await api('POST', account('root', '/roles/revoke'), opsToken, { roles: ['platform-admin'], reason: 'demoted' });
    expect(await tryDisable()).toMatchObject({ status: 403, body: { code: 'AUTH.CALLER_NOT_ACTIVE' } });
    await api('POST', account('root', '/roles/grant'), opsToken, { roles: ['platform-admin'], reason: 'restored' });
    // The same token works again once the account is an enabled platform-admin again.
    const noop = await api('POST', account('erin', '/roles/revoke'), adminToken, { roles: ['auditor'], reason: 'nothing to revoke' });
    expect(noop).toMatchObject({ status: 200, body: { changed: false } });
    await audit('auth.account.disabled', (data) => data.status === 'denied' && data.resultCode === 'AUTH.CALLER_NOT_ACTIVE');
  });

  it('refuses role changes to callers who are not platform-admins (403 AUTH.FORBIDDEN)', async () => {
    const userToken = (await signInTokens(bob)).access_token;
    const refused = await api('POST', account('erin', '/roles/grant'), userToken, { roles: ['platform-admin'], reason: 'promote' });
    expect(refused).toMatchObject({ status: 403, body: { code: 'AUTH.FORBIDDEN' } });
    expect((await api('GET', account('erin'), userToken)).status).toBe(403);
    expect((await api('GET', account('erin'), opsToken)).body['roles']).not.toContain('platform-admin');
  });

  it('disables an account: its refresh tokens die in the same transaction and sign-in is refused; enabling restores sign-in', async () => {
    const tokens = await signInTokens(bob);
    const disabled = await api('POST', account('bob', '/disable'), opsToken, { reason: 'left the company' });
    expect(disabled).toMatchObject({ status: 200, body: { changed: true, account: { disabled: true } } });
    expect(disabled.body['revokedEntries']).toBeGreaterThan(0);
    expect(await refresh(tokens.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await expect(signInTokens(bob)).rejects.toThrow(/unexpected 401/);
    await audit('auth.sign-in', (data) => data.subjectId === ids['bob'] && data.resultCode === 'AUTH.ACCOUNT_DISABLED');
    const record = await audit('auth.account.disabled', (data) => data.subjectId === ids['bob']);
    expect(record['data']).toMatchObject({
      status: 'success',
      before: { disabled: false },
      after: { disabled: true },
      details: { reason: 'left the company' },
    });

    const enabled = await api('POST', account('bob', '/enable'), opsToken, { reason: 'came back' });
    expect(enabled).toMatchObject({ status: 200, body: { changed: true, revokedEntries: 0, account: { disabled: false } } });
    expect((await api('POST', account('bob', '/enable'), opsToken, { reason: 'again' })).body).toMatchObject({ changed: false });
    await audit('auth.account.enabled', (data) => data.subjectId === ids['bob'] && data.details.reason === 'came back');
    expect(decodeJwt((await signInTokens(bob)).access_token)).toMatchObject({ sub: ids['bob'] });
  });

  it('refuses refresh for an account disabled without revoking its tokens (the provider finds no disabled account)', async () => {
    const tokens = await signInTokens(bob);
    const db = auth.service.runtime.dataSource;
    await db.query('UPDATE accounts SET disabled = true WHERE account_id = $1', [ids['bob']]);
    try {
      expect(await refresh(tokens.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    } finally {
      await db.query('UPDATE accounts SET disabled = false WHERE account_id = $1', [ids['bob']]);
    }
  });

  it('resets MFA: factor and recovery codes removed, sessions ended, audited; the next sign-in enrolls a new factor', async () => {
    const tokens = await signInTokens(carol); // auditor: enrolls at the first sign-in
    const firstSecret = carol.totp!.secret;
    expect((await api('GET', account('carol'), opsToken)).body).toMatchObject({ totpEnrolled: true, unusedRecoveryCodes: 10 });
    const reset = await api('POST', account('carol', '/mfa/reset'), opsToken, { reason: 'lost phone' });
    expect(reset).toMatchObject({ status: 200, body: { changed: true, account: { totpEnrolled: false, unusedRecoveryCodes: 0 } } });
    expect(await refresh(tokens.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const record = await audit('auth.account.mfa-reset', (data) => data.subjectId === ids['carol']);
    expect(record['data']).toMatchObject({
      status: 'success',
      details: { reason: 'lost phone', totpRemoved: true, recoveryCodesRemoved: 10, mfaRequired: true },
    });
    carol.totp = undefined;
    const again = await signInTokens(carol);
    expect(carol.totp).toBeDefined();
    expect(carol.totp!.secret).not.toBe(firstSecret);
    expect(again.claims()).toMatchObject({ acr: 'urn:traceo:acr:mfa' });
  });

  it('answers bad input with 400 problem+json and a stable code', async () => {
    const cases: [string, unknown, string][] = [
      [account('erin', '/roles/grant'), { roles: ['wizard'], reason: 'x' }, 'REQUEST.VALIDATION_FAILED'],
      [account('erin', '/roles/grant'), { roles: [], reason: 'x' }, 'REQUEST.VALIDATION_FAILED'],
      [account('erin', '/roles/grant'), { roles: ['auditor'] }, 'REQUEST.VALIDATION_FAILED'],
      [account('erin', '/roles/grant'), { roles: ['auditor'], reason: 'x', tenantId: 'other' }, 'REQUEST.VALIDATION_FAILED'],
      [account('erin', '/disable'), { reason: 'x', disabled: false }, 'REQUEST.VALIDATION_FAILED'],
      [`${tenant}/accounts/not-a-uuid/disable`, { reason: 'x' }, 'REQUEST.VALIDATION_FAILED'],
      [account('erin', '/roles/grant'), { roles: ['service'], reason: 'x' }, 'AUTH.ROLE_NOT_GRANTABLE'],
    ];
    for (const [path, body, code] of cases) {
      const answer = await api('POST', path, opsToken, body);
      expect({ path, body, status: answer.status, code: answer.body['code'] }).toEqual({ path, body, status: 400, code });
      expect(answer.type).toMatch(/^application\/problem\+json/);
    }
    expect((await api('GET', `${tenant}/accounts/not-a-uuid`, opsToken)).status).toBe(400);
    expect((await api('GET', account('erin'), opsToken)).body['roles']).toEqual(['key-user', 'end-user']);
  });

  it('answers 404 for an account of another tenant, and 403 for another tenant’s path', async () => {
    const foreign = `${tenant}/accounts/${ids['mallory']}`;
    expect(await api('GET', foreign, opsToken)).toMatchObject({ status: 404, body: { code: 'AUTH.ACCOUNT_NOT_FOUND' } });
    for (const [suffix, body] of [
      ['/roles/grant', { roles: ['auditor'], reason: 'x' }],
      ['/disable', { reason: 'x' }],
      ['/mfa/reset', { reason: 'x' }],
    ] as const)
      expect(await api('POST', `${foreign}${suffix}`, opsToken, body)).toMatchObject({
        status: 404,
        body: { code: 'AUTH.ACCOUNT_NOT_FOUND' },
      });
    expect(await api('GET', `${otherTenant}/accounts/${ids['mallory']}`, opsToken)).toMatchObject({
      status: 403,
      body: { code: 'AUTH.TENANT_MISMATCH' },
    });
    const [row] = await auth.service.runtime.dataSource.query<{ roles: string[]; disabled: boolean }[]>(
      'SELECT roles, disabled FROM accounts WHERE account_id = $1',
      [ids['mallory']],
    );
    expect(row).toEqual({ roles: ['end-user'], disabled: false });
  });

  it('keeps one enabled platform-admin account in the platform tenant, even when two are demoted at once', async () => {
    const first = await auth.createAccount(PLATFORM_TENANT, 'ops-1', 'ops one has a long passphrase', ['platform-admin']);
    const path = (id: string, suffix: string) => `${PLATFORM_TENANT}/accounts/${id}${suffix}`;
    const demote = (id: string) =>
      api('POST', path(id, '/roles/revoke'), platformOpsToken, { roles: ['platform-admin'], reason: 'rotation' });
    expect(await demote(first)).toMatchObject({ status: 409, body: { code: 'AUTH.LAST_PLATFORM_ADMIN' } });
    expect(await api('POST', path(first, '/disable'), platformOpsToken, { reason: 'x' })).toMatchObject({
      status: 409,
      body: { code: 'AUTH.LAST_PLATFORM_ADMIN' },
    });
    await audit(
      'auth.account.disabled',
      (data) => data.status === 'denied' && data.resultCode === 'AUTH.LAST_PLATFORM_ADMIN',
      PLATFORM_TENANT,
    );

    const second = await auth.createAccount(PLATFORM_TENANT, 'ops-2', 'ops two has a long passphrase', ['platform-admin']);
    const answers = await Promise.all([demote(first), demote(second)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    const admins = await auth.service.runtime.dataSource.query<unknown[]>(
      `SELECT 1 FROM accounts WHERE tenant_id = $1 AND 'platform-admin' = ANY (roles) AND NOT disabled`,
      [PLATFORM_TENANT],
    );
    expect(admins).toHaveLength(1);
  });
});
