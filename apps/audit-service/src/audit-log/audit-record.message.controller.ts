import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { EventTypes, type TypedEvent } from '@traceo/contracts';
import { BATCH, inboxManagerOf } from '@traceo/service-kit';
import { AppendAuditRecordsUseCase } from './append-audit-record.usecase';

@Controller()
export class AuditRecordMessageController {
  constructor(private readonly append: AppendAuditRecordsUseCase) {}

  @EventPattern(EventTypes.auditRecord, BATCH)
  async onAuditRecords(@Payload() events: readonly TypedEvent[], @Ctx() context: unknown): Promise<void> {
    await this.append.execute(events, inboxManagerOf(context));
  }
}
