import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { listMonthlyPartitions, type MonthlyPartition } from './audit-partitions';

export interface ExpiryOutcome {
  readonly dropped: { partition: string; records: number }[];
  readonly held: { partition: string; holds: string[] }[];
}

const DAY_MS = 86_400_000;

/**
 * Drops every monthly partition whose newest possible record is older than its class's retention,
 * unless an active legal hold overlaps it. Before a drop, the leaf ranges it held are recorded in
 * audit_pruned_ranges (their leaf hashes stay in audit_tree_tiles), so every tenant's tree still
 * verifies; each affected tenant's log gets an `audit.retention-expired` record.
 */
@Injectable()
export class ExpirePartitionsUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
  ) {}

  async execute(now = new Date()): Promise<ExpiryOutcome> {
    const db = this.runtime.maintenanceDataSource;
    const policies = new Map(
      (
        await db.query<{ retention_class: string; retain_days: number }[]>(
          'SELECT retention_class, retain_days FROM audit_retention_policies',
        )
      ).map((p) => [p.retention_class, p.retain_days]),
    );
    const outcome: ExpiryOutcome = { dropped: [], held: [] };
    for (const partition of await listMonthlyPartitions(db)) {
      const retainDays = policies.get(partition.retentionClass);
      if (retainDays === undefined || partition.to.getTime() + retainDays * DAY_MS > now.getTime()) continue;
      const holds = await this.activeHolds(partition);
      if (holds.length > 0) {
        outcome.held.push({ partition: partition.name, holds });
        continue;
      }
      outcome.dropped.push({ partition: partition.name, records: await this.drop(partition) });
    }
    return outcome;
  }

  private async activeHolds(partition: MonthlyPartition): Promise<string[]> {
    const rows = await this.runtime.maintenanceDataSource.query<{ hold_id: string }[]>(
      `SELECT h.hold_id FROM audit_legal_holds h
        WHERE h.released_at IS NULL AND h.covers_from < $2 AND h.covers_to > $1
          AND (h.tenant_id IS NULL OR EXISTS (SELECT 1 FROM ${partition.name} r WHERE r.tenant_id = h.tenant_id))`,
      [partition.from, partition.to],
    );
    return rows.map((row) => row.hold_id);
  }

  private async drop(partition: MonthlyPartition): Promise<number> {
    return this.runtime.maintenanceDataSource.transaction(async (manager) => {
      const ranges = await manager.query<{ tenant_id: string; first_index: string; last_index: string; records: string }[]>(
        `SELECT tenant_id, min(leaf_index) AS first_index, max(leaf_index) AS last_index, count(*) AS records
           FROM (SELECT tenant_id, leaf_index, leaf_index - row_number() OVER (PARTITION BY tenant_id ORDER BY leaf_index) AS run
                   FROM ${partition.name}) runs
          GROUP BY tenant_id, run ORDER BY tenant_id, first_index`,
      );
      await manager.query(
        `INSERT INTO audit_pruned_ranges (tenant_id, first_index, last_index, partition_name)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[])`,
        [
          ranges.map((r) => r.tenant_id),
          ranges.map((r) => r.first_index),
          ranges.map((r) => r.last_index),
          ranges.map(() => partition.name),
        ],
      );
      const parent = `audit_records_${partition.retentionClass.replace(/-/g, '_')}`;
      await manager.query(`ALTER TABLE ${parent} DETACH PARTITION ${partition.name}`);
      await manager.query(`DROP TABLE ${partition.name}`);
      const perTenant = new Map<string, number>();
      for (const range of ranges) perTenant.set(range.tenant_id, (perTenant.get(range.tenant_id) ?? 0) + Number(range.records));
      for (const [tenantId, records] of perTenant) {
        await this.publisher.audit(
          {
            actor: { type: 'service', id: this.runtime.name },
            action: 'audit.retention-expired',
            resource: { type: 'audit-partition', id: partition.name },
            status: 'success',
            details: { retentionClass: partition.retentionClass, month: partition.from.toISOString().slice(0, 7), records },
          },
          { tenantId, manager },
        );
      }
      return [...perTenant.values()].reduce((sum, n) => sum + n, 0);
    });
  }
}
