import { Module } from '@nestjs/common';
import { RevokeSessionsUseCase } from '../sessions/revoke-sessions.usecase';
import { SessionRecordsModule } from '../sessions/session-records.module';
import { AccountAdminRepository } from './account-admin.repository';
import { AccountChanges } from './account-changes';
import { AccountsAdminHttpController } from './accounts-admin.http.controller';
import { ChangeAccountRolesUseCase } from './change-account-roles.usecase';
import { GetAccountUseCase } from './get-account.usecase';
import { ResetAccountMfaUseCase } from './reset-account-mfa.usecase';
import { SetAccountDisabledUseCase } from './set-account-disabled.usecase';

/**
 * Account administration: roles, disabling, MFA reset, reading (docs/auth-accounts.md).
 * RevokeSessionsUseCase is stateless; it is provided here too rather than exported from SessionsModule.
 */
@Module({
  imports: [SessionRecordsModule],
  controllers: [AccountsAdminHttpController],
  providers: [
    AccountAdminRepository,
    AccountChanges,
    RevokeSessionsUseCase,
    GetAccountUseCase,
    ChangeAccountRolesUseCase,
    SetAccountDisabledUseCase,
    ResetAccountMfaUseCase,
  ],
})
export class AccountsAdminModule {}
