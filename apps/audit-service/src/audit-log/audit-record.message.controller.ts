import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { EventTypes, type TypedEvent } from '@traceo/contracts';
import { inboxManagerOf } from '@traceo/service-kit';
import { AppendAuditRecordUseCase } from './append-audit-record.usecase';

@Controller()
export class AuditRecordMessageController {
  constructor(private readonly append: AppendAuditRecordUseCase) {}

  @EventPattern(EventTypes.auditRecord)
  async onAuditRecord(@Payload() event: TypedEvent<'traceo.audit.record.v1'>, @Ctx() context: unknown): Promise<void> {
    await this.append.execute(event, inboxManagerOf(context));
  }
}
