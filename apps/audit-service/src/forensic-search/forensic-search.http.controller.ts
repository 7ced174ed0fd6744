import { auditActorOf, CurrentPrincipal, RequirePermissions, type Principal } from '@traceo/security';
import { applyDecorators, Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@traceo/service-kit';
import type { Request, Response } from 'express';
import {
  forensicFiltersSchema,
  SEARCH_PAGE_SIZE_DEFAULT,
  SEARCH_PAGE_SIZE_MAX,
  searchQuerySchema,
  tenantIdParam,
  type ForensicFilters,
  type SearchQuery,
} from './forensic-search.query';
import { EXPORT_TRUNCATED_TRAILER, sendNdjson } from './ndjson-response';
import {
  EXPORT_MAX_RECORDS,
  SearchAuditRecordsUseCase,
  type AuditSearchPage,
  type SearchRequestContext,
} from './search-audit-records.usecase';

const PRE_MIGRATION_NOTE = 'records appended before this filter existed have no value for it and never match';

const ApiForensicFilters = () =>
  applyDecorators(
    ApiQuery({ name: 'actorId', required: false, type: String }),
    ApiQuery({ name: 'actorType', required: false, enum: ['user', 'service', 'api-client', 'system'] }),
    ApiQuery({ name: 'sessionId', required: false, type: String, description: PRE_MIGRATION_NOTE }),
    ApiQuery({ name: 'requestId', required: false, type: String }),
    ApiQuery({ name: 'resourceType', required: false, type: String }),
    ApiQuery({ name: 'resourceId', required: false, type: String, description: 'requires resourceType' }),
    ApiQuery({ name: 'action', required: false, type: String, example: 'user.signed-in' }),
    ApiQuery({ name: 'status', required: false, enum: ['success', 'failure', 'denied'] }),
    ApiQuery({
      name: 'from',
      type: String,
      required: false,
      description: 'occurredAt at or after, ISO 8601 with offset (a + must be sent as %2B)',
      example: '2026-11-24T00:00:00Z',
    }),
    ApiQuery({
      name: 'to',
      required: false,
      type: String,
      description: 'occurredAt before (exclusive), ISO 8601 with offset (a + must be sent as %2B)',
    }),
    ApiQuery({
      name: 'minRiskScore',
      required: false,
      schema: { type: 'number', minimum: 0, maximum: 100 },
      description: PRE_MIGRATION_NOTE,
    }),
    ApiQuery({
      name: 'maxRiskScore',
      required: false,
      schema: { type: 'number', minimum: 0, maximum: 100 },
      description: PRE_MIGRATION_NOTE,
    }),
    ApiQuery({ name: 'country', required: false, type: String, description: `ISO 3166-1 alpha-2; ${PRE_MIGRATION_NOTE}`, example: 'DE' }),
  );

const contextOf = (principal: Principal, req: Request & { id?: unknown }): SearchRequestContext => ({
  actor: auditActorOf(principal),
  ...(typeof req.id === 'string' ? { requestId: req.id } : {}),
});

/**
 * Forensic search over one tenant's audit log. Read-only: nothing here changes the log. Searching
 * needs audit:read (auditor, security analyst), exporting audit:export (auditor); every call is
 * recorded with the caller as its actor (audit.searched / audit.exported, and api.request).
 */
@ApiTags('audit')
@ApiParam({ name: 'tenantId', example: 'acme' })
@Controller('v1/audit/tenants/:tenantId/records')
export class ForensicSearchHttpController {
  constructor(private readonly searches: SearchAuditRecordsUseCase) {}

  @Get('search')
  @ApiForensicFilters()
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: SEARCH_PAGE_SIZE_MAX, default: SEARCH_PAGE_SIZE_DEFAULT },
  })
  @RequirePermissions('audit:read')
  @ApiQuery({ name: 'cursor', required: false, type: String, description: 'nextCursor of the previous page' })
  @ApiOkResponse({ description: 'One page of matching records, newest first, and the cursor of the next page (null on the last)' })
  search(
    @Param('tenantId', new ZodValidationPipe(tenantIdParam)) tenantId: string,
    @Query(new ZodValidationPipe(searchQuerySchema)) query: SearchQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<AuditSearchPage> {
    return this.searches.search(tenantId, query, contextOf(principal, req));
  }

  @Get('export')
  @ApiForensicFilters()
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({
    description:
      `Every matching record, newest first, one JSON object per line, at most ${EXPORT_MAX_RECORDS}; ` +
      `the ${EXPORT_TRUNCATED_TRAILER} trailer says whether records were left out`,
  })
  @RequirePermissions('audit:export')
  async export(
    @Param('tenantId', new ZodValidationPipe(tenantIdParam)) tenantId: string,
    @Query(new ZodValidationPipe(forensicFiltersSchema)) filters: ForensicFilters,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await sendNdjson(res, this.searches.export(tenantId, filters, contextOf(principal, req)), {
      'Traceo-Export-Limit': String(EXPORT_MAX_RECORDS),
    });
  }
}
