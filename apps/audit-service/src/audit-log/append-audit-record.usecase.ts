import { Injectable } from '@nestjs/common';
import type { AuditRecordV1, TypedEvent } from '@traceo/contracts';
import type { EntityManager } from 'typeorm';

/** Appends a received audit record in the consumer's transaction; a redelivered event id is a no-op. */
@Injectable()
export class AppendAuditRecordUseCase {
  async execute(event: TypedEvent<'traceo.audit.record.v1'>, manager: EntityManager): Promise<void> {
    const record: AuditRecordV1 = event.data;
    await manager.query(
      `INSERT INTO audit_records (event_id, tenant_id, source, occurred_at, actor_type, actor_id, action, resource_type, resource_id, status, request_id, record)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        event.id,
        event.tenantid,
        event.source,
        record.occurredAt,
        record.actor.type,
        record.actor.id,
        record.action,
        record.resource.type,
        record.resource.id ?? null,
        record.status,
        record.requestId ?? null,
        JSON.stringify(record),
      ],
    );
  }
}
