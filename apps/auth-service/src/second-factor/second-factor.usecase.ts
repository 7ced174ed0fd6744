import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { Account } from '../accounts/account.repository';
import { PgLoginAttemptStore } from '../accounts/login-throttle';
import {
  AttemptThrottle,
  buildOtpauthUri,
  confirmTotpEnrollment,
  DEFAULT_TOTP_PARAMETERS,
  MFA_THROTTLE_POLICY,
  mfaRequiredForRoles,
  RecoveryCodes,
  startTotpEnrollment,
  TotpVerifier,
  type ThrottleDecision,
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

/** Where a code came from, for the audit record. */
interface AttemptMeta {
  readonly clientId: string;
  readonly ip?: string | undefined;
}

/**
 * The TOTP step of sign-in, on src/mfa's building blocks (RFC 6238 with a ±1 step drift window and
 * replay protection, enrollment confirmed by a first code). An account with a factor always uses it;
 * an account whose roles require MFA (src/mfa MFA_REQUIRED_BY_ROLE) and has none enrolls first.
 * Every code, TOTP or recovery, is charged to the account's `MFA_THROTTLE_POLICY` counter before it is
 * checked (key `mfa-account:<account>`), so parallel wrong codes cannot outrun the limit; a right code
 * clears the counter.
 */
@Injectable()
export class SecondFactorUseCase {
  private readonly verifier: TotpVerifier;
  private readonly recovery: RecoveryCodes;
  private readonly throttle: AttemptThrottle;

  constructor(
    @Inject(SERVICE_RUNTIME) runtime: ServiceRuntime,
    private readonly factors: TotpFactorsRepository,
    private readonly publisher: EventPublisher,
    recoveryCodes: RecoveryCodesRepository,
  ) {
    this.verifier = new TotpVerifier(factors);
    this.recovery = new RecoveryCodes(recoveryCodes);
    this.throttle = new AttemptThrottle(new PgLoginAttemptStore(runtime.dataSource), MFA_THROTTLE_POLICY);
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

  async submit(account: Account, code: string, meta: AttemptMeta): Promise<SecondFactorResult> {
    const factor = await this.factors.find(account.accountId);
    if (factor)
      return this.throttled(account, meta, 'verify', async () => {
        const checked = await this.verifier.verify(factor, code);
        return checked.ok ? { ok: true } : { ok: false, reason: checked.reason };
      });
    const pending = await this.factors.findPending(account.accountId);
    if (pending) return this.throttled(account, meta, 'enroll', () => this.confirmEnrollment(account, pending, code));
    // No code to check against, so nothing is charged; a throttled account still hears that first.
    const decision = await this.throttle.peek(account.accountId);
    return decision.allowed ? { ok: false, reason: 'expired' } : this.audited(account, meta, 'verify', lockedResult(decision));
  }

  /** Signs in with a recovery code instead of a TOTP code (single use; the same backoff as codes). */
  redeemRecoveryCode(account: Account, input: string, meta: AttemptMeta): Promise<SecondFactorResult> {
    return this.throttled(account, meta, 'recover', async () => {
      const redeemed = await this.recovery.redeem(account.accountId, input);
      return redeemed.ok ? { ok: true, remainingRecoveryCodes: redeemed.remaining } : { ok: false, reason: redeemed.reason };
    });
  }

  /**
   * Charged before the check: of a burst of parallel wrong codes, only the policy's allowance gets
   * checked; a right code clears the counter. A refused enrollment code is audited as a verification.
   */
  private async throttled(
    account: Account,
    meta: AttemptMeta,
    action: 'enroll' | 'verify' | 'recover',
    check: () => Promise<SecondFactorResult>,
  ): Promise<SecondFactorResult> {
    const admitted = await this.throttle.admit(account.accountId);
    if (!admitted.allowed) return this.audited(account, meta, action === 'recover' ? 'recover' : 'verify', lockedResult(admitted));
    const result = await check();
    if (result.ok) await this.throttle.reset(account.accountId);
    return this.audited(account, meta, action, result);
  }

  private async confirmEnrollment(
    account: Account,
    pending: { secret: string; expiresAt: number },
    code: string,
  ): Promise<SecondFactorResult> {
    const confirmed = confirmTotpEnrollment(
      { secret: pending.secret, parameters: DEFAULT_TOTP_PARAMETERS, uri: '', expiresAt: pending.expiresAt },
      code,
      Date.now(),
    );
    if (!confirmed.ok) return { ok: false, reason: confirmed.reason };
    await this.factors.activate(account.accountId, confirmed.secret, confirmed.parameters, confirmed.lastUsedStep);
    // A new factor comes with a new set of recovery codes, shown once.
    return { ok: true, recoveryCodes: await this.recovery.issue(account.accountId) };
  }

  private async audited(
    account: Account,
    meta: AttemptMeta,
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

/** Backoff and lock alike are shown as "locked" with the wait, as before the throttle was merged. */
function lockedResult(decision: Extract<ThrottleDecision, { allowed: false }>): SecondFactorResult {
  return { ok: false, reason: 'locked', retryAfterSeconds: decision.retryAfterSeconds };
}
