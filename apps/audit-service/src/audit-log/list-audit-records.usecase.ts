import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { z } from 'zod';

export const listAuditRecordsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  source: z
    .string()
    .regex(/^\/traceo\/[a-z-]+$/, 'must be a service source such as /traceo/auth-service')
    .optional(),
  action: z
    .string()
    .regex(/^[a-z][a-z0-9.-]*$/)
    .optional(),
});

export type ListAuditRecordsQuery = z.infer<typeof listAuditRecordsQuerySchema>;

export interface AuditRecordView {
  seq: string;
  eventId: string;
  tenantId: string;
  source: string;
  occurredAt: string;
  receivedAt: string;
  action: string;
  status: string;
  resource: { type: string; id: string | null };
}

interface AuditRecordRow {
  seq: string;
  event_id: string;
  tenant_id: string;
  source: string;
  occurred_at: Date;
  received_at: Date;
  action: string;
  status: string;
  resource_type: string;
  resource_id: string | null;
}

/**
 * Newest audit records first (by occurredAt, across every tenant), optionally narrowed to one source
 * service or action. Each tenant's newest `limit` come from its time (or action) index, then the
 * tenants' lists are merged: no index over all tenants is kept for this list, so appends do not pay
 * for one.
 */
@Injectable()
export class ListAuditRecordsUseCase {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async execute(query: ListAuditRecordsQuery): Promise<AuditRecordView[]> {
    const rows = await this.runtime.dataSource.query<AuditRecordRow[]>(
      `SELECT r.seq::text AS seq, r.event_id, h.tenant_id, r.source, r.occurred_at, r.received_at, r.action, r.status,
              r.resource_type, r.resource_id
         FROM audit_log_heads h
        CROSS JOIN LATERAL (
          SELECT seq, event_id, source, occurred_at, received_at, action, status, resource_type, resource_id, leaf_index
            FROM audit_records
           WHERE tenant_id = h.tenant_id AND ($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR action = $2)
           ORDER BY occurred_at DESC, leaf_index DESC
           LIMIT $3) r
        ORDER BY r.occurred_at DESC, h.tenant_id, r.leaf_index DESC
        LIMIT $3`,
      [query.source ?? null, query.action ?? null, query.limit],
    );
    return rows.map((row) => ({
      seq: row.seq,
      eventId: row.event_id,
      tenantId: row.tenant_id,
      source: row.source,
      occurredAt: row.occurred_at.toISOString(),
      receivedAt: row.received_at.toISOString(),
      action: row.action,
      status: row.status,
      resource: { type: row.resource_type, id: row.resource_id },
    }));
  }
}
