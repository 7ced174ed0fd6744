import { Injectable } from '@nestjs/common';
import { mfaRequiredForRoles } from '../mfa';
import { AccountAdminRepository } from './account-admin.repository';
import { AccountChanges, type AccountChangeResult, type AccountCommand } from './account-changes';

/**
 * Removes an account's TOTP factor and recovery codes (a lost or compromised authenticator), so the
 * next sign-in enrolls a new factor (for an account whose roles require MFA, or a client asking for
 * `acr_values=urn:traceo:acr:mfa`). The account's sessions and refresh tokens end in the same
 * transaction: they may have been established with the factor being replaced. Done and audited
 * even when the account had no factor, since the sessions still end.
 */
@Injectable()
export class ResetAccountMfaUseCase {
  constructor(
    private readonly changes: AccountChanges,
    private readonly accounts: AccountAdminRepository,
  ) {}

  execute(command: AccountCommand): Promise<AccountChangeResult> {
    return this.changes.run(command, 'auth.account.mfa-reset', 'auth:users:manage', async (tx, locked) => {
      const removed = await this.accounts.deleteSecondFactor(tx, command.tenantId, command.accountId);
      const revokedEntries = await this.changes.endSessions(tx, command, 'MFA reset');
      await this.changes.audit(tx, command, {
        action: 'auth.account.mfa-reset',
        details: { ...removed, mfaRequired: mfaRequiredForRoles(locked.roles), revokedEntries },
      });
      return { changed: removed.totpRemoved || removed.recoveryCodesRemoved > 0, revokedEntries };
    });
  }
}
