import { Injectable, Optional } from '@nestjs/common';
import type { AuditRecordV1, TypedEvent } from '@traceo/contracts';
import type { EntityManager } from 'typeorm';
import { CheckpointScheduler } from './checkpoint.scheduler';
import { appendToLogs, type NewLogRecord } from './merkle-log.repository';

/**
 * Appends received audit records to their tenants' Merkle logs, in the consumer's transaction
 * (so the inbox row and the log entry commit together), in the order Kafka delivered them.
 */
@Injectable()
export class AppendAuditRecordsUseCase {
  constructor(@Optional() private readonly checkpoints?: CheckpointScheduler) {}

  async execute(events: readonly TypedEvent[], manager: EntityManager): Promise<void> {
    const byTenant = new Map<string, NewLogRecord[]>();
    for (const event of events) {
      const records = byTenant.get(event.tenantid) ?? [];
      records.push({ eventId: event.id, source: event.source, record: event.data as AuditRecordV1 });
      byTenant.set(event.tenantid, records);
    }
    await appendToLogs(manager, byTenant);
    this.checkpoints?.recordAppended(events.length);
  }
}
