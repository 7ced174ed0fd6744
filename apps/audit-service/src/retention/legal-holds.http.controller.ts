import { auditActorOf, CurrentPrincipal, RequirePermissions, type Principal } from '@traceo/security';
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@traceo/service-kit';
import { z } from 'zod';
import { LegalHoldsUseCase, type LegalHold } from './legal-holds.usecase';

const placeHoldBody = z
  .strictObject({
    tenantId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    reason: z.string().min(3).max(500),
  })
  .refine((body) => Date.parse(body.from) < Date.parse(body.to), 'from must be before to');

@ApiTags('audit')
@Controller('v1/audit/legal-holds')
export class LegalHoldsHttpController {
  constructor(private readonly holds: LegalHoldsUseCase) {}

  @RequirePermissions('audit:manage')
  @Post()
  @ApiCreatedResponse({ description: 'The hold; retention will not drop the records it covers until it is released' })
  place(
    @Body(new ZodValidationPipe(placeHoldBody)) body: z.infer<typeof placeHoldBody>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LegalHold> {
    return this.holds.place(body, auditActorOf(principal));
  }

  @RequirePermissions('audit:manage')
  @Post(':holdId/release')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The released hold' })
  release(@Param('holdId', new ZodValidationPipe(z.uuid())) holdId: string, @CurrentPrincipal() principal: Principal): Promise<LegalHold> {
    return this.holds.release(holdId, auditActorOf(principal));
  }

  @RequirePermissions('audit:read')
  @Get()
  @ApiOkResponse({ description: 'Active legal holds' })
  async active(): Promise<{ holds: LegalHold[] }> {
    return { holds: await this.holds.active() };
  }
}
