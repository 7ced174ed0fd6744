import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { ACR_MFA, RecoveryCodes } from '../mfa';
import { RecoveryCodesRepository } from './recovery-codes.repository';
import { MfaNotEnrolledError, MfaRequiredError } from './second-factor.errors';

export interface RegenerateRecoveryCodesRequest {
  readonly accountId: string;
  readonly tenantId: string;
  /** The `acr` of the caller's access token; undefined for an API key or a token without one. */
  readonly acr: string | undefined;
  readonly clientId?: string | undefined;
}

/**
 * A new set of recovery codes for the signed-in account, replacing every earlier code (used or not).
 * Only from a session that passed a second factor: a stolen password-only session must not be able to
 * mint codes that then bypass TOTP. The codes exist in clear only in the return value.
 */
@Injectable()
export class RegenerateRecoveryCodesUseCase {
  private readonly recovery: RecoveryCodes;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
    recoveryCodes: RecoveryCodesRepository,
  ) {
    this.recovery = new RecoveryCodes(recoveryCodes);
  }

  async execute(request: RegenerateRecoveryCodesRequest): Promise<readonly string[]> {
    if (request.acr !== ACR_MFA) {
      await this.audit(request, 'denied', 'AUTH.MFA_REQUIRED');
      throw new MfaRequiredError(`regenerating recovery codes needs an access token with acr ${ACR_MFA} (sign in with a second factor)`);
    }
    const [factor] = await this.runtime.dataSource.query<unknown[]>(
      'SELECT 1 FROM totp_factors JOIN accounts USING (account_id) WHERE account_id = $1 AND NOT disabled',
      [request.accountId],
    );
    if (!factor) {
      await this.audit(request, 'failure', 'AUTH.MFA_NOT_ENROLLED');
      throw new MfaNotEnrolledError('the account has no TOTP factor, so recovery codes would stand in for nothing');
    }
    const codes = await this.recovery.issue(request.accountId);
    await this.audit(request, 'success', 'AUTH.MFA_RECOVERY_CODES_REGENERATED', { count: codes.length });
    return codes;
  }

  private async audit(
    request: RegenerateRecoveryCodesRequest,
    status: 'success' | 'failure' | 'denied',
    resultCode: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.publisher.audit(
      {
        actor: { type: 'user', id: request.accountId },
        action: 'auth.mfa.recovery-codes-regenerated',
        resource: { type: 'mfa-factor', id: 'recovery-code' },
        subjectId: request.accountId,
        status,
        resultCode,
        details: { ...(request.clientId ? { clientId: request.clientId } : {}), ...details },
      },
      { tenantId: request.tenantId },
    );
  }
}
