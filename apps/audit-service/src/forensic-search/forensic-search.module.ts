import { Module } from '@nestjs/common';
import { ForensicSearchHttpController } from './forensic-search.http.controller';
import { SearchAuditRecordsUseCase } from './search-audit-records.usecase';

@Module({
  controllers: [ForensicSearchHttpController],
  providers: [SearchAuditRecordsUseCase],
})
export class ForensicSearchModule {}
