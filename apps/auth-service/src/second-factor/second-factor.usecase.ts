import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { Account } from '../accounts/account.repository';
import { ACCOUNT_THROTTLE, LoginThrottle } from '../accounts/login-throttle';
import {
  buildOtpauthUri,
  confirmTotpEnrollment,
  DEFAULT_TOTP_PARAMETERS,
  mfaRequiredForRoles,
  RecoveryCodes,
  startTotpEnrollment,
  TotpVerifier,
} from '../mfa';
import { RecoveryCodesRepository } from './recovery-codes.repository';
import { TotpFactorsRepository } from './totp-factors.repository';

export type SecondFactorStep = 'none' | 'verify' | 'enroll';
export type SecondFactorResult =
  | { readonly ok: true; readonly recoveryCodes?: readonly string[]; readonly remainingRecoveryCodes?: number }
  | {
      readonly ok: false;
      readonly reason: 'invalid' | 'malformed' | 'replayed' | 'expired' | 'locked';
      readonly retryAfterSeconds?: number;
    };

/**
 * The TOTP step of sign-in, on src/mfa's building blocks (RFC 6238 with a ±1 step drift window and
 * replay protection, enrollment confirmed by a first code). An account with a factor always uses it;
 * an account whose roles require MFA (src/mfa MFA_REQUIRED_BY_ROLE) and has none enrolls first.
 * Failed codes count towards the account's backoff like failed passwords (key `mfa:<account>`).
 */
@Injectable()
export class SecondFactorUseCase {
  private readonly verifier: TotpVerifier;
  private readonly recovery: RecoveryCodes;
  private readonly throttle: LoginThrottle;

  constructor(
    @Inject(SERVICE_RUNTIME) runtime: ServiceRuntime,
    private readonly factors: TotpFactorsRepository,
    private readonly publisher: EventPublisher,
    recoveryCodes: RecoveryCodesRepository,
  ) {
    this.verifier = new TotpVerifier(factors);
    this.recovery = new RecoveryCodes(recoveryCodes);
    this.throttle = new LoginThrottle(runtime.dataSource);
  }

  async stepFor(account: Account): Promise<SecondFactorStep> {
    if (await this.factors.find(account.accountId)) return 'verify';
    return mfaRequiredForRoles(account.roles) ? 'enroll' : 'none';
  }

  /** The enrollment to show: the pending one while it lasts (a re-rendered page keeps its secret), else a new one. */
  async enrollment(account: Account, issuer: string): Promise<{ secret: string; uri: string }> {
    const now = Date.now();
    const pending = await this.factors.findPending(account.accountId);
    if (pending && pending.expiresAt > now)
      return { secret: pending.secret, uri: buildOtpauthUri({ secret: pending.secret, issuer, accountName: account.username }) };
    const started = startTotpEnrollment({ issuer, accountName: account.username, now });
    await this.factors.savePending(account.accountId, started);
    return { secret: started.secret, uri: started.uri };
  }

  async submit(account: Account, code: string, meta: { clientId: string; ip?: string | undefined }): Promise<SecondFactorResult> {
    const key = `mfa:${account.accountId}`;
    const locked = await this.throttle.retryAfter([key]);
    if (locked > 0) return this.audited(account, meta, 'verify', { ok: false, reason: 'locked', retryAfterSeconds: locked });
    const factor = await this.factors.find(account.accountId);
    let result: SecondFactorResult;
    let action: 'enroll' | 'verify' = 'verify';
    if (factor) {
      const checked = await this.verifier.verify(factor, code);
      result = checked.ok ? { ok: true } : { ok: false, reason: checked.reason };
    } else {
      action = 'enroll';
      const pending = await this.factors.findPending(account.accountId);
      if (!pending) return { ok: false, reason: 'expired' };
      const confirmed = confirmTotpEnrollment(
        { secret: pending.secret, parameters: DEFAULT_TOTP_PARAMETERS, uri: '', expiresAt: pending.expiresAt },
        code,
        Date.now(),
      );
      if (confirmed.ok) await this.factors.activate(account.accountId, confirmed.secret, confirmed.parameters, confirmed.lastUsedStep);
      // A new factor comes with a new set of recovery codes, shown once.
      result = confirmed.ok
        ? { ok: true, recoveryCodes: await this.recovery.issue(account.accountId) }
        : { ok: false, reason: confirmed.reason };
    }
    if (result.ok) await this.throttle.succeed(key);
    else await this.throttle.fail(key, ACCOUNT_THROTTLE);
    return this.audited(account, meta, action, result);
  }

  /** Signs in with a recovery code instead of a TOTP code (single use; the same backoff as codes). */
  async redeemRecoveryCode(
    account: Account,
    input: string,
    meta: { clientId: string; ip?: string | undefined },
  ): Promise<SecondFactorResult> {
    const key = `mfa:${account.accountId}`;
    const locked = await this.throttle.retryAfter([key]);
    if (locked > 0) return this.audited(account, meta, 'recover', { ok: false, reason: 'locked', retryAfterSeconds: locked });
    const redeemed = await this.recovery.redeem(account.accountId, input);
    if (redeemed.ok) await this.throttle.succeed(key);
    else await this.throttle.fail(key, ACCOUNT_THROTTLE);
    return this.audited(
      account,
      meta,
      'recover',
      redeemed.ok ? { ok: true, remainingRecoveryCodes: redeemed.remaining } : { ok: false, reason: redeemed.reason },
    );
  }

  private async audited(
    account: Account,
    meta: { clientId: string; ip?: string | undefined },
    action: 'enroll' | 'verify' | 'recover',
    result: SecondFactorResult,
  ): Promise<SecondFactorResult> {
    await this.publisher.audit(
      {
        actor: { type: 'user', id: account.accountId },
        action: action === 'enroll' ? 'auth.mfa.enrolled' : action === 'recover' ? 'auth.mfa.recovery-code-used' : 'auth.mfa.verified',
        resource: { type: 'mfa-factor', id: action === 'recover' ? 'recovery-code' : 'totp' },
        subjectId: account.accountId,
        status: result.ok ? 'success' : result.reason === 'locked' ? 'denied' : 'failure',
        resultCode: result.ok ? 'AUTH.MFA_OK' : `AUTH.MFA_${result.reason.toUpperCase()}`,
        ...(meta.ip ? { ip: meta.ip } : {}),
        details: {
          method: action === 'recover' ? 'recovery-code' : 'totp',
          clientId: meta.clientId,
          ...(result.ok && result.remainingRecoveryCodes !== undefined ? { remainingRecoveryCodes: result.remainingRecoveryCodes } : {}),
        },
      },
      { tenantId: account.tenantId },
    );
    return result;
  }
}
