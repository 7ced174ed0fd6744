import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { isValidTenantId } from '@traceo/contracts';
import { principalOfRequest, RequirePermissions } from '@traceo/security';
import { ZodValidationPipe } from '@traceo/service-kit';
import type { Request } from 'express';
import { z } from 'zod';
import { RevokeSessionsUseCase } from './revoke-sessions.usecase';

const tenantIdSchema = z.string().refine(isValidTenantId, 'must be a tenant id');
const accountIdSchema = z.uuid();
const revokeBody = z.strictObject({ reason: z.string().trim().min(1).max(256) });

/** Incident response: end an account's sessions and grants now. */
@ApiTags('auth')
@Controller('v1/auth/tenants/:tenantId/accounts/:accountId/sessions')
export class SessionsHttpController {
  constructor(private readonly revoke: RevokeSessionsUseCase) {}

  @RequirePermissions('auth:sessions:revoke')
  @Post('revoke')
  @HttpCode(200)
  @ApiOkResponse({ description: 'How many sessions, grants and stored tokens were removed' })
  async revokeAll(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantIdSchema)) tenant: z.infer<typeof tenantIdSchema>,
    @Param('accountId', new ZodValidationPipe(accountIdSchema)) account: z.infer<typeof accountIdSchema>,
    @Body(new ZodValidationPipe(revokeBody)) body: z.infer<typeof revokeBody>,
  ): Promise<{ revokedEntries: number }> {
    const principal = principalOfRequest(request);
    const requestedBy =
      principal?.via === 'jwt'
        ? { type: 'user' as const, id: principal.subject }
        : { type: 'system' as const, id: principal?.subject ?? 'unknown' };
    return { revokedEntries: await this.revoke.execute({ tenantId: tenant, accountId: account, reason: body.reason, requestedBy }) };
  }
}
