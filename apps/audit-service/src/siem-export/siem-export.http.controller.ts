import { auditActorOf, CurrentPrincipal, RequirePermissions, type Principal } from '@traceo/security';
import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@traceo/service-kit';
import type { Response } from 'express';
import { z } from 'zod';
import { SIEM_EXPORT_MAX_LIMIT, SIEM_FORMATS, SiemExportUseCase, siemExportQuerySchema, type SiemExportQuery } from './siem-export.usecase';

const tenantParam = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a tenant id');

@ApiTags('audit')
@ApiParam({ name: 'tenantId', example: 'acme' })
@Controller('v1/audit/tenants/:tenantId/siem')
export class SiemExportHttpController {
  constructor(private readonly siemExport: SiemExportUseCase) {}

  @RequirePermissions('audit:export')
  @Get('export')
  @ApiQuery({ name: 'format', enum: SIEM_FORMATS })
  @ApiQuery({ name: 'from', description: 'inclusive lower bound on occurredAt (ISO 8601 with offset)' })
  @ApiQuery({ name: 'to', description: 'exclusive upper bound on occurredAt (ISO 8601 with offset)' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: SIEM_EXPORT_MAX_LIMIT, default: 1000 } })
  @ApiQuery({ name: 'afterIndex', required: false, description: 'paging cursor: the Traceo-Next-After-Index of the previous page' })
  @ApiProduces('application/x-ndjson', 'text/plain')
  @ApiOkResponse({
    description:
      'OCSF 1.3.0 events as NDJSON, ArcSight CEF:0 lines, or RFC 5424 syslog messages carrying them, one per audit record, in log order',
  })
  async export(
    @Param('tenantId', new ZodValidationPipe(tenantParam)) tenantId: z.infer<typeof tenantParam>,
    @Query(new ZodValidationPipe(siemExportQuerySchema)) query: SiemExportQuery,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    const result = await this.siemExport.execute(tenantId, query, auditActorOf(principal));
    response.setHeader('content-type', result.contentType);
    if (result.nextAfterIndex !== undefined) response.setHeader('traceo-next-after-index', String(result.nextAfterIndex));
    return result.body;
  }
}
