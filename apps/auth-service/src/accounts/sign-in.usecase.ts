import { Inject, Injectable } from '@nestjs/common';
import { ipBucket } from '@traceo/rate-limit';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { AccountRepository, normaliseUsername, type Account } from './account.repository';
import { ACCOUNT_THROTTLE, IP_THROTTLE, LoginThrottle } from './login-throttle';
import { PasswordHasher } from '../mfa';

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
 * Password sign-in for a tenant's local account, with per-account and per-IP backoff. Unknown
 * names, wrong passwords and disabled accounts give the same answer and cost the same argon2id
 * computation, so the form does not reveal which names exist. Every attempt is an audit record.
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
    this.throttle = new LoginThrottle(runtime.dataSource);
  }

  async execute(attempt: SignInAttempt): Promise<SignInResult> {
    const accountKey = `account:${attempt.tenantId}:${normaliseUsername(attempt.username)}`;
    const ipKey = attempt.ip ? `ip:${ipBucket(attempt.ip, 64)}` : undefined;
    const keys = ipKey ? [accountKey, ipKey] : [accountKey];
    const locked = await this.throttle.retryAfter(keys);
    if (locked > 0) {
      await this.audit(attempt, 'denied', 'AUTH.LOCKED_OUT', undefined, { retryAfterSeconds: locked });
      return { outcome: 'locked', retryAfterSeconds: locked };
    }
    const account = await this.accounts.findForSignIn(attempt.tenantId, attempt.username);
    // Unknown names cost the same argon2id work as known ones (src/mfa PasswordHasher.verifyDummy).
    const matches = account
      ? await this.passwords.verify(account.passwordHash, attempt.password)
      : await this.passwords.verifyDummy(attempt.password);
    if (account && matches && !account.disabled) {
      await this.throttle.succeed(accountKey);
      if (this.passwords.needsRehash(account.passwordHash))
        await this.accounts.updatePasswordHash(account.accountId, await this.passwords.hash(attempt.password));
      await this.audit(attempt, 'success', 'AUTH.SIGNED_IN', account.accountId);
      const { passwordHash: _hash, ...clean } = account;
      return { outcome: 'success', account: clean };
    }
    const accountLock = await this.throttle.fail(accountKey, ACCOUNT_THROTTLE);
    const ipLock = ipKey ? await this.throttle.fail(ipKey, IP_THROTTLE) : 0;
    const code = account?.disabled && matches ? 'AUTH.ACCOUNT_DISABLED' : 'AUTH.INVALID_CREDENTIALS';
    await this.audit(
      attempt,
      'failure',
      code,
      account?.accountId,
      accountLock || ipLock ? { lockedForSeconds: Math.max(accountLock, ipLock) } : {},
    );
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
