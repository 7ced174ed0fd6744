import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { isValidTenantId } from '@traceo/contracts';
import { CurrentPrincipal, RequirePermissions, type Principal } from '@traceo/security';
import { ZodValidationPipe } from '@traceo/service-kit';
import { z } from 'zod';
import { RevokeSessionsUseCase, type RevokedSessions } from './revoke-sessions.usecase';
import { SessionRecordsRepository, type SessionRecord } from './session-records.repository';

const tenantIdSchema = z.string().refine(isValidTenantId, 'must be a tenant id');
const accountIdSchema = z.uuid();
const sessionIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a session id');
const revokeBody = z.strictObject({ reason: z.string().trim().min(1).max(256) });

/** The audit actor of a revocation: a token's subject is a user; an API key is the system (no service/api-client split here). */
function requestedBy(principal: Principal) {
  return { type: principal.via === 'jwt' ? ('user' as const) : ('system' as const), id: principal.subject };
}

/** Incident response: an account's sessions with their sign-in context, and ending one or all of them now. */
@ApiTags('auth')
@Controller('v1/auth/tenants/:tenantId/accounts/:accountId/sessions')
export class SessionsHttpController {
  constructor(
    private readonly revoke: RevokeSessionsUseCase,
    private readonly sessions: SessionRecordsRepository,
  ) {}

  @RequirePermissions('auth:users:read')
  @Get()
  @ApiOkResponse({
    description: 'The account’s sessions, newest first: sign-in time, acr/amr, IP, country, user agent, device fingerprint, end',
  })
  async list(
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: z.infer<typeof tenantIdSchema>,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: z.infer<typeof accountIdSchema>,
  ): Promise<{ sessions: SessionRecord[] }> {
    return { sessions: await this.sessions.list(tenant, account) };
  }

  @RequirePermissions('auth:sessions:revoke')
  @Post('revoke')
  @HttpCode(200)
  @ApiOkResponse({ description: 'How many provider entries were removed and which sessions ended' })
  revokeAll(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: z.infer<typeof tenantIdSchema>,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: z.infer<typeof accountIdSchema>,
    @Body(new ZodValidationPipe(revokeBody)) body: z.infer<typeof revokeBody>,
  ): Promise<RevokedSessions> {
    return this.revoke.execute({ tenantId: tenant, accountId: account, reason: body.reason, requestedBy: requestedBy(principal) });
  }

  @RequirePermissions('auth:sessions:revoke')
  @Post(':sessionId/revoke')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The session ended and the grants issued through it were revoked' })
  revokeOne(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: z.infer<typeof tenantIdSchema>,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: z.infer<typeof accountIdSchema>,
    @Param('sessionId', new ZodValidationPipe(sessionIdSchema)) sessionId: z.infer<typeof sessionIdSchema>,
    @Body(new ZodValidationPipe(revokeBody)) body: z.infer<typeof revokeBody>,
  ): Promise<RevokedSessions> {
    return this.revoke.execute({
      tenantId: tenant,
      accountId: account,
      sessionId,
      reason: body.reason,
      requestedBy: requestedBy(principal),
    });
  }
}
