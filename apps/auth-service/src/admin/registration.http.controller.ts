import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { isValidTenantId } from '@traceo/contracts';
import { auditActorOf, CurrentPrincipal, RequirePermissions, ROLES, type Principal } from '@traceo/security';
import { ZodValidationPipe } from '@traceo/service-kit';
import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../mfa';
import { RegistrationUseCase } from './registration.usecase';

const tenantId = z.string().refine(isValidTenantId, 'must be a tenant id');
const clientId = z.string().regex(/^[a-z0-9][a-z0-9._-]{2,127}$/);
/** RFC 7591 metadata; checked against the registration policy by the use case. */
const registerClientBody = z.record(z.string(), z.unknown());
const createAccountBody = z.strictObject({
  username: z.string().trim().min(1).max(256),
  /** At least 12 characters (NIST SP 800-63B §3.1.1.2 asks for 8 or more; 15 without MFA). */
  password: z.string().min(12).max(MAX_PASSWORD_LENGTH),
  roles: z.array(z.enum(ROLES)).max(ROLES.length).default(['end-user']),
});

/** Client and account registration for a tenant (docs/auth.md, "Registering a client"). */
@ApiTags('auth')
@Controller('v1/auth/tenants/:tenantId')
export class RegistrationHttpController {
  constructor(private readonly registration: RegistrationUseCase) {}

  @RequirePermissions('auth:clients:manage')
  @Post('clients')
  @ApiCreatedResponse({ description: 'The registered client; a generated client_secret is shown only in this response' })
  registerClient(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Body(new ZodValidationPipe(registerClientBody)) body: Record<string, unknown>,
  ) {
    // The tenant is the path's (the guard checked it against the caller's); one in the body is ignored.
    const { tenant_id: _ignored, ...fields } = body;
    return this.registration.registerClient(tenant, fields, auditActorOf(principal));
  }

  @RequirePermissions('auth:clients:manage')
  @Get('clients/:clientId')
  @ApiOkResponse({ description: 'The client metadata (never its secret)' })
  findClient(
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('clientId', new ZodValidationPipe(clientId)) id: string,
  ) {
    return this.registration.findClient(tenant, id);
  }

  @RequirePermissions('auth:users:manage')
  @Post('accounts')
  @ApiCreatedResponse({ description: 'The account (its password is stored only as an argon2id hash)' })
  createAccount(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Body(new ZodValidationPipe(createAccountBody)) body: z.infer<typeof createAccountBody>,
  ) {
    return this.registration.createAccount(tenant, body, auditActorOf(principal));
  }
}
