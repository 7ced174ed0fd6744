import { Injectable, Optional } from '@nestjs/common';
import type { AuditRecordV1, TypedEvent } from '@traceo/contracts';
import type { EntityManager } from 'typeorm';
import { PersonalDataProtector } from '../personal-data/personal-data.protector';
import { CheckpointScheduler } from './checkpoint.scheduler';
import { appendToLogs, type NewLogRecord } from './merkle-log.repository';

/**
 * Appends received audit records to their tenants' Merkle logs, in the consumer's transaction
 * (so the inbox row and the log entry commit together), in the order Kafka delivered them. Records
 * with a data subject have their personal fields sealed under that subject's key first.
 */
@Injectable()
export class AppendAuditRecordsUseCase {
  constructor(
    private readonly personalData: PersonalDataProtector,
    @Optional() private readonly checkpoints?: CheckpointScheduler,
  ) {}

  async execute(events: readonly TypedEvent[], manager: EntityManager): Promise<void> {
    const byTenant = new Map<string, NewLogRecord[]>();
    for (const event of events) {
      const records = byTenant.get(event.tenantid) ?? [];
      records.push({ eventId: event.id, source: event.source, record: event.data as AuditRecordV1 });
      byTenant.set(event.tenantid, records);
    }
    // Personal fields are sealed before anything is hashed or stored; a sealing failure fails the
    // batch, which the inbox retries, so no record is dropped. Tenants are sealed concurrently: each is
    // one call to encryption-service, made while this batch's transaction is open.
    const sealed = await Promise.all([...byTenant].map(([tenant, records]) => this.personalData.protect(tenant, records)));
    const protectedByTenant = new Map([...byTenant.keys()].map((tenant, i) => [tenant, sealed[i]!]));
    await appendToLogs(manager, protectedByTenant);
    this.checkpoints?.recordAppended(events.length);
  }
}
