import { ALL_TENANTS, principalOfRequest, RequirePermissions, TenantMismatchError } from '@traceo/security';
import { Controller, Get, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@traceo/service-kit';
import {
  ListAuditRecordsUseCase,
  listAuditRecordsQuerySchema,
  type AuditRecordView,
  type ListAuditRecordsQuery,
} from './list-audit-records.usecase';

@ApiTags('audit')
@Controller('v1/audit/records')
export class AuditRecordsHttpController {
  constructor(private readonly list: ListAuditRecordsUseCase) {}

  @RequirePermissions('audit:read')
  @Get()
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } })
  @ApiQuery({ name: 'source', required: false, schema: { type: 'string', example: '/traceo/auth-service' } })
  @ApiQuery({ name: 'action', required: false, schema: { type: 'string', example: 'service.started' } })
  @ApiOkResponse({ description: 'Newest audit records first' })
  async records(
    @Req() request: Request,
    @Query(new ZodValidationPipe(listAuditRecordsQuerySchema)) query: ListAuditRecordsQuery,
  ): Promise<{ records: AuditRecordView[] }> {
    // This list spans every tenant: only platform-wide principals may read it; others search their tenant's log.
    if (principalOfRequest(request)?.tenantId !== ALL_TENANTS) {
      throw new TenantMismatchError('this list spans every tenant; use /v1/audit/tenants/:tenantId/records/search');
    }
    return { records: await this.list.execute(query) };
  }
}
