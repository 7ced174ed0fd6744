import { Module } from '@nestjs/common';
import { AppendAuditRecordUseCase } from './append-audit-record.usecase';
import { AuditRecordMessageController } from './audit-record.message.controller';
import { AuditRecordsHttpController } from './audit-records.http.controller';
import { ListAuditRecordsUseCase } from './list-audit-records.usecase';

@Module({
  controllers: [AuditRecordsHttpController, AuditRecordMessageController],
  providers: [AppendAuditRecordUseCase, ListAuditRecordsUseCase],
})
export class AuditLogModule {}
