import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { isValidTenantId } from '@traceo/contracts';
import { CurrentPrincipal, RequirePermissions, ROLES, type Principal } from '@traceo/security';
import { ZodValidationPipe } from '@traceo/service-kit';
import { z } from 'zod';
import type { AccountView } from './account-admin.repository';
import type { AccountChangeResult, AccountCommand } from './account-changes';
import { ChangeAccountRolesUseCase } from './change-account-roles.usecase';
import { GetAccountUseCase } from './get-account.usecase';
import { ResetAccountMfaUseCase } from './reset-account-mfa.usecase';
import { SetAccountDisabledUseCase } from './set-account-disabled.usecase';

const tenantIdSchema = z.string().refine(isValidTenantId, 'must be a tenant id');
const accountIdSchema = z.uuid();
const reason = z.string().trim().min(1).max(256);
const reasonBody = z.strictObject({ reason });
const rolesBody = z.strictObject({ roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length), reason });

type ReasonBody = z.infer<typeof reasonBody>;
type RolesBody = z.infer<typeof rolesBody>;

/** The command's tenant, account, reason and caller (subject, roles, and the actor of the audit record). */
function commandOf(principal: Principal, tenantId: string, accountId: string, body: ReasonBody): AccountCommand {
  const actor =
    principal.via === 'api-key'
      ? { type: 'api-client' as const, id: principal.subject }
      : // A client-credentials token's subject is its client.
        { type: principal.subject === principal.clientId ? ('service' as const) : ('user' as const), id: principal.subject };
  return {
    tenantId,
    accountId,
    reason: body.reason,
    caller: { subject: principal.subject, tenantId: principal.tenantId, roles: principal.roles, actor },
  };
}

/** Account administration of a tenant: roles, disabling, MFA reset (docs/auth-accounts.md). */
@ApiTags('auth')
@Controller('v1/auth/tenants/:tenantId/accounts/:accountId')
export class AccountsAdminHttpController {
  constructor(
    private readonly getAccount: GetAccountUseCase,
    private readonly changeRoles: ChangeAccountRolesUseCase,
    private readonly setDisabled: SetAccountDisabledUseCase,
    private readonly resetMfa: ResetAccountMfaUseCase,
  ) {}

  @RequirePermissions('auth:users:read')
  @Get()
  @ApiOkResponse({ description: 'The account: roles, disabled, whether it has a TOTP factor (never its password hash)' })
  find(
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: string,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: string,
  ): Promise<AccountView> {
    return this.getAccount.execute(tenant, account);
  }

  @RequirePermissions('auth:roles:manage')
  @Post('roles/grant')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The account after the change; its sessions and refresh tokens ended if its roles changed' })
  grant(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: string,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: string,
    @Body(new ZodValidationPipe(rolesBody)) body: RolesBody,
  ): Promise<AccountChangeResult> {
    return this.changeRoles.execute({ ...commandOf(principal, tenant, account, body), change: { kind: 'grant', roles: body.roles } });
  }

  @RequirePermissions('auth:roles:manage')
  @Post('roles/revoke')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The account after the change; its sessions and refresh tokens ended if its roles changed' })
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: string,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: string,
    @Body(new ZodValidationPipe(rolesBody)) body: RolesBody,
  ): Promise<AccountChangeResult> {
    return this.changeRoles.execute({ ...commandOf(principal, tenant, account, body), change: { kind: 'revoke', roles: body.roles } });
  }

  @RequirePermissions('auth:users:manage')
  @Post('disable')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The disabled account; every session and refresh token of it ended' })
  disable(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: string,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: string,
    @Body(new ZodValidationPipe(reasonBody)) body: ReasonBody,
  ): Promise<AccountChangeResult> {
    return this.setDisabled.execute({ ...commandOf(principal, tenant, account, body), disabled: true });
  }

  @RequirePermissions('auth:users:manage')
  @Post('enable')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The enabled account' })
  enable(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: string,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: string,
    @Body(new ZodValidationPipe(reasonBody)) body: ReasonBody,
  ): Promise<AccountChangeResult> {
    return this.setDisabled.execute({ ...commandOf(principal, tenant, account, body), disabled: false });
  }

  @RequirePermissions('auth:users:manage')
  @Post('mfa/reset')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The account without its TOTP factor and recovery codes; its sessions and refresh tokens ended' })
  reset(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: string,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: string,
    @Body(new ZodValidationPipe(reasonBody)) body: ReasonBody,
  ): Promise<AccountChangeResult> {
    return this.resetMfa.execute(commandOf(principal, tenant, account, body));
  }
}
