import { Controller, Get, Query } from '@nestjs/common';
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

  @Get()
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } })
  @ApiQuery({ name: 'source', required: false, schema: { type: 'string', example: '/traceo/auth-service' } })
  @ApiQuery({ name: 'action', required: false, schema: { type: 'string', example: 'service.started' } })
  @ApiOkResponse({ description: 'Newest audit records first' })
  async records(
    @Query(new ZodValidationPipe(listAuditRecordsQuerySchema)) query: ListAuditRecordsQuery,
  ): Promise<{ records: AuditRecordView[] }> {
    return { records: await this.list.execute(query) };
  }
}
