import { randomBytes } from 'node:crypto';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { AccountRepository, type Account } from '../accounts/account.repository';
import { base32Decode, generateRecoveryCodes, hotp } from '../mfa';
import { SecondFactorUseCase, type SecondFactorResult } from './second-factor.usecase';

/**
 * The sign-in's second-factor step on the running service (real PostgreSQL login_throttle, HSM-wrapped
 * factor, audit through the outbox to Kafka): every code is charged before it is checked.
 */
describe('second-factor step throttle (MFA_THROTTLE_POLICY on PostgreSQL)', () => {
  let auth: AuthTestService;
  let secondFactor: SecondFactorUseCase;
  let account: Account;
  let secret: Buffer;
  let recoveryCodes: readonly string[];
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const meta = { clientId: `web-${tenant}`, ip: '203.0.113.80' };

  const failures = async () => {
    const [row] = await auth.service.runtime.dataSource.query<{ failures: number }[]>(
      'SELECT failures FROM login_throttle WHERE key = $1',
      [`mfa-account:${account.accountId}`],
    );
    return row?.failures;
  };
  /** Moves the last charged attempt back, as if the backoff had been waited out. */
  const waitOutBackoff = () =>
    auth.service.runtime.dataSource.query("UPDATE login_throttle SET last_failure_at = now() - interval '10 minutes' WHERE key = $1", [
      `mfa-account:${account.accountId}`,
    ]);
  /** A six-digit code that no step of the ±1 window accepts now. */
  const wrongTotpCode = () => {
    const step = Math.floor(Date.now() / 30_000);
    const valid = new Set([-1, 0, 1, 2].map((offset) => hotp(secret, step + offset, 6)));
    return ['000000', '111111', '222222'].find((code) => !valid.has(code))!;
  };
  const count = (results: readonly SecondFactorResult[], reason: string) =>
    results.filter((result) => !result.ok && result.reason === reason).length;

  beforeAll(async () => {
    auth = await startAuthTestService('auth_second_factor', [
      {
        client_id: meta.clientId,
        tenant_id: tenant,
        client_secret: 'second-factor-secret-0000000000000000000000',
        redirect_uris: ['https://app.traceo.test/callback'],
      },
    ]);
    const accountId = await auth.createAccount(tenant, 'frank', 'frank has a long passphrase', ['end-user']);
    account = (await auth.service.app.get(AccountRepository).findById(accountId))!;
    secondFactor = auth.service.app.get(SecondFactorUseCase);
    const enrollment = await secondFactor.enrollment(account, 'Traceo (test)');
    secret = base32Decode(enrollment.secret);
    const enrolled = await secondFactor.submit(account, hotp(secret, Math.floor(Date.now() / 30_000), 6), meta);
    expect(enrolled).toMatchObject({ ok: true, recoveryCodes: expect.any(Array) });
    recoveryCodes = (enrolled as { recoveryCodes: readonly string[] }).recoveryCodes;
  });

  afterAll(async () => {
    await auth?.close();
  });

  it('checks only five of twenty parallel wrong TOTP codes and refuses the rest with the wait', async () => {
    const code = wrongTotpCode();
    const results = await Promise.all(Array.from({ length: 20 }, () => secondFactor.submit(account, code, meta)));
    expect(count(results, 'invalid')).toBe(5);
    expect(count(results, 'locked')).toBe(15);
    expect(results.find((result) => !result.ok && result.reason === 'locked')).toEqual({
      ok: false,
      reason: 'locked',
      retryAfterSeconds: expect.any(Number),
    });
    await expect(failures()).resolves.toBe(5);
    const audit = await auth.event(
      'traceo.audit.record.v1',
      (e) => e['tenantid'] === tenant && e['data'].action === 'auth.mfa.verified' && e['data'].resultCode === 'AUTH.MFA_LOCKED',
    );
    expect(audit['data']).toMatchObject({ status: 'denied', subjectId: account.accountId, details: { method: 'totp' } });
  });

  it('refuses even a right recovery code during the backoff without using it, then accepts it and clears the counter', async () => {
    await expect(secondFactor.redeemRecoveryCode(account, recoveryCodes[0]!, meta)).resolves.toMatchObject({
      ok: false,
      reason: 'locked',
    });
    await waitOutBackoff();
    await expect(secondFactor.redeemRecoveryCode(account, recoveryCodes[0]!, meta)).resolves.toEqual({
      ok: true,
      remainingRecoveryCodes: recoveryCodes.length - 1,
    });
    await expect(failures()).resolves.toBeUndefined();
  });

  it('throttles parallel wrong recovery codes on the same counter', async () => {
    const [wrong] = generateRecoveryCodes(1);
    const results = await Promise.all(Array.from({ length: 8 }, () => secondFactor.redeemRecoveryCode(account, wrong!, meta)));
    expect(count(results, 'invalid')).toBe(5);
    expect(count(results, 'locked')).toBe(3);
    await expect(failures()).resolves.toBe(5);
    // The TOTP step shares the counter: a code now is refused before it is checked.
    await expect(secondFactor.submit(account, wrongTotpCode(), meta)).resolves.toMatchObject({ ok: false, reason: 'locked' });
    await expect(failures()).resolves.toBe(5);
  });
});
