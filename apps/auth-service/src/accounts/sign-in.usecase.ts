import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { AccountRepository, type Account } from './account.repository';
import { PgLoginAttemptStore } from './login-throttle';
import { LoginThrottle, PasswordHasher } from '../mfa';

export type SignInResult =
  | { readonly outcome: 'success'; readonly account: Account }
  | { readonly outcome: 'invalid' }
  | { readonly outcome: 'locked'; readonly retryAfterSeconds: number };

export interface SignInAttempt {
  readonly tenantId: string;
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  readonly ip?: string;
  readonly userAgent?: string;
}

/**
 * Password sign-in for a tenant's local account, with per-account and per-IP backoff and lockout
 * (src/mfa's LoginThrottle on PostgreSQL). The attempt is charged before the password is checked, so
 * parallel requests cannot all pass before the first failure lands. Unknown names, wrong passwords
 * and disabled accounts give the same answer and cost the same argon2id computation, so the form
 * does not reveal which names exist. Every attempt is an audit record.
 */
@Injectable()
export class SignInUseCase {
  private readonly throttle: LoginThrottle;
  private readonly passwords = new PasswordHasher();

  constructor(
    @Inject(SERVICE_RUNTIME) runtime: ServiceRuntime,
    private readonly accounts: AccountRepository,
    private readonly publisher: EventPublisher,
  ) {
    this.throttle = new LoginThrottle(new PgLoginAttemptStore(runtime.dataSource));
  }

  async execute(attempt: SignInAttempt): Promise<SignInResult> {
    const throttled = { tenantId: attempt.tenantId, login: attempt.username, ip: attempt.ip };
    const admitted = await this.throttle.admit(throttled);
    if (!admitted.allowed) {
      const retryAfterSeconds = admitted.retryAfterSeconds;
      await this.audit(attempt, 'denied', 'AUTH.LOCKED_OUT', undefined, { retryAfterSeconds });
      return { outcome: 'locked', retryAfterSeconds };
    }
    const account = await this.accounts.findForSignIn(attempt.tenantId, attempt.username);
    // Unknown names cost the same argon2id work as known ones (src/mfa PasswordHasher.verifyDummy).
    const matches = account
      ? await this.passwords.verify(account.passwordHash, attempt.password)
      : await this.passwords.verifyDummy(attempt.password);
    if (account && matches && !account.disabled) {
      await this.throttle.succeeded(throttled);
      if (this.passwords.needsRehash(account.passwordHash))
        await this.accounts.updatePasswordHash(account.accountId, await this.passwords.hash(attempt.password));
      await this.audit(attempt, 'success', 'AUTH.SIGNED_IN', account.accountId);
      const { passwordHash: _hash, ...clean } = account;
      return { outcome: 'success', account: clean };
    }
    // Already charged by admit; the audit record says how long this name or address must now wait.
    const lockedForSeconds = await this.throttle.waitAfterFailure(throttled);
    const code = account?.disabled && matches ? 'AUTH.ACCOUNT_DISABLED' : 'AUTH.INVALID_CREDENTIALS';
    await this.audit(attempt, 'failure', code, account?.accountId, lockedForSeconds > 0 ? { lockedForSeconds } : {});
    return { outcome: 'invalid' };
  }

  private async audit(
    attempt: SignInAttempt,
    status: 'success' | 'failure' | 'denied',
    resultCode: string,
    accountId: string | undefined,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.publisher.audit(
      {
        actor: accountId ? { type: 'user', id: accountId } : { type: 'system', id: 'anonymous' },
        action: 'auth.sign-in',
        resource: { type: 'oauth-client', id: attempt.clientId },
        status,
        resultCode,
        ...(accountId ? { subjectId: accountId } : {}),
        ...(attempt.ip ? { ip: attempt.ip } : {}),
        ...(attempt.userAgent ? { userAgent: attempt.userAgent.slice(0, 1024) } : {}),
        details: { method: 'password', ...details },
      },
      { tenantId: attempt.tenantId },
    );
  }
}
