import { Injectable } from '@nestjs/common';
import { assertPlatformKeepsAnAdmin } from './account-admin.policy';
import { AccountAdminRepository } from './account-admin.repository';
import { AccountChanges, type AccountChangeResult, type AccountCommand } from './account-changes';

/**
 * Disables or enables an account. Disabling ends every session, grant and refresh token of the
 * account in the same transaction; sign-in refuses a disabled account, and so does every refresh
 * (the provider's findAccount finds no disabled account). Access tokens already issued live out
 * their 15 minutes.
 */
@Injectable()
export class SetAccountDisabledUseCase {
  constructor(
    private readonly changes: AccountChanges,
    private readonly accounts: AccountAdminRepository,
  ) {}

  execute(command: AccountCommand & { readonly disabled: boolean }): Promise<AccountChangeResult> {
    const action = command.disabled ? 'auth.account.disabled' : 'auth.account.enabled';
    return this.changes.run(command, action, 'auth:users:manage', async (tx, locked) => {
      if (locked.disabled === command.disabled) return { changed: false, revokedEntries: 0 };
      assertPlatformKeepsAnAdmin(command.tenantId, locked, { ...locked, disabled: command.disabled }, locked.otherActivePlatformAdmins);
      await this.accounts.setDisabled(tx, command.tenantId, command.accountId, command.disabled);
      const revokedEntries = command.disabled ? await this.changes.endSessions(tx, command, 'account disabled') : 0;
      await this.changes.audit(tx, command, {
        action,
        before: { disabled: locked.disabled },
        after: { disabled: command.disabled },
        details: { revokedEntries },
      });
      return { changed: true, revokedEntries };
    });
  }
}
