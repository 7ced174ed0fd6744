import { Injectable } from '@nestjs/common';
import { mfaRequiredForRoles } from '../mfa';
import { assertPlatformKeepsAnAdmin, rolesAfter, sameRoles, type RoleChange } from './account-admin.policy';
import { AccountAdminRepository } from './account-admin.repository';
import { AccountChanges, type AccountChangeResult, type AccountCommand } from './account-changes';

/**
 * Grants or revokes roles of an account. The row is locked (SELECT … FOR UPDATE) from the read of
 * the current roles to the UPDATE, so concurrent changes apply one after the other. A change ends
 * the account's sessions and refresh tokens in the same transaction: the new roles apply from the
 * next sign-in, which also enrolls a TOTP factor when a granted role requires MFA and the account
 * has none (src/mfa/mfa-policy.ts). Access tokens already issued keep their roles until they expire
 * (at most 15 minutes).
 */
@Injectable()
export class ChangeAccountRolesUseCase {
  constructor(
    private readonly changes: AccountChanges,
    private readonly accounts: AccountAdminRepository,
  ) {}

  execute(command: AccountCommand & { readonly change: RoleChange }): Promise<AccountChangeResult> {
    return this.changes.run(command, 'auth.account.roles-changed', 'auth:roles:manage', async (tx, locked, caller) => {
      const roles = rolesAfter(locked.roles, command.change, caller);
      if (sameRoles(roles, locked.roles)) return { changed: false, revokedEntries: 0 };
      assertPlatformKeepsAnAdmin(command.tenantId, locked, { ...locked, roles }, locked.otherActivePlatformAdmins);
      await this.accounts.setRoles(tx, command.tenantId, command.accountId, roles);
      const revokedEntries = await this.changes.endSessions(tx, command, 'roles changed');
      await this.changes.audit(tx, command, {
        action: 'auth.account.roles-changed',
        before: { roles: locked.roles },
        after: { roles },
        details: {
          [command.change.kind === 'grant' ? 'granted' : 'revoked']: command.change.roles,
          mfaRequired: mfaRequiredForRoles(roles),
          revokedEntries,
        },
      });
      return { changed: true, revokedEntries };
    });
  }
}
