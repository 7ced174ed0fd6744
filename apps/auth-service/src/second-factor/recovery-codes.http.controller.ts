import { Controller, Header, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequirePermissions, type Principal } from '@traceo/security';
import type { Request } from 'express';
import { RegenerateRecoveryCodesUseCase } from './regenerate-recovery-codes.usecase';

/** Self-service for the signed-in account's second factor. */
@ApiTags('auth')
@Controller('v1/auth/me/recovery-codes')
export class RecoveryCodesHttpController {
  constructor(private readonly regenerate: RegenerateRecoveryCodesUseCase) {}

  @RequirePermissions('auth:self')
  @Post()
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOkResponse({ description: 'Ten new recovery codes, shown this once; every earlier code stops working' })
  async regenerateCodes(@Req() request: Request, @CurrentPrincipal() principal: Principal): Promise<{ recoveryCodes: readonly string[] }> {
    const recoveryCodes = await this.regenerate.execute({
      accountId: principal.subject,
      tenantId: principal.tenantId,
      acr: principal.via === 'jwt' ? accessTokenAcr(request) : undefined,
      clientId: principal.clientId,
    });
    return { recoveryCodes };
  }
}

/**
 * The `acr` claim of the bearer token the auth guard has just verified (the Principal does not carry
 * it), so decoding the payload again without verifying is safe here.
 */
export function accessTokenAcr(request: Pick<Request, 'headers'>): string | undefined {
  const payload = /^Bearer [\w-]+\.([\w-]+)\.[\w-]+$/i.exec(request.headers.authorization ?? '')?.[1];
  if (payload === undefined) return undefined;
  try {
    const { acr } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { acr?: unknown };
    return typeof acr === 'string' ? acr : undefined;
  } catch {
    return undefined;
  }
}
