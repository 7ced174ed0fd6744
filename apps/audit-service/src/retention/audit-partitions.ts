import type { EntityManager } from 'typeorm';
import { RETENTION_CLASSES, type RetentionClass } from './retention-class';

type Querier = Pick<EntityManager, 'query'>;

export interface MonthlyPartition {
  readonly name: string;
  readonly retentionClass: RetentionClass;
  /** First instant of the month (UTC), inclusive. */
  readonly from: Date;
  /** First instant of the next month (UTC), exclusive. */
  readonly to: Date;
}

const PARTITION_NAME = /^audit_records_(security_operations|default|compliance)_(\d{4})_(\d{2})$/;

function monthStart(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

function addMonths(date: Date, months: number): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
}

function partitionName(retentionClass: RetentionClass, month: Date): string {
  const mm = String(month.getUTCMonth() + 1).padStart(2, '0');
  return `audit_records_${retentionClass.replace(/-/g, '_')}_${month.getUTCFullYear()}_${mm}`;
}

/**
 * Creates the monthly partitions of every retention class for the months from `from` to `until`
 * (inclusive) that do not exist yet. Run at start-up and daily, ahead of the month they receive.
 */
export async function ensureMonthlyPartitions(querier: Querier, from: Date, until: Date): Promise<string[]> {
  const created: string[] = [];
  for (let month = monthStart(from); month <= until; month = addMonths(month, 1)) {
    for (const retentionClass of RETENTION_CLASSES) {
      const name = partitionName(retentionClass, month);
      const [exists] = await querier.query<{ n: number }[]>(
        'SELECT count(*)::int AS n FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace',
        [name],
      );
      if (exists!.n > 0) continue;
      const parent = `audit_records_${retentionClass.replace(/-/g, '_')}`;
      await querier.query(
        `CREATE TABLE ${name} PARTITION OF ${parent} FOR VALUES FROM ('${month.toISOString()}') TO ('${addMonths(month, 1).toISOString()}')`,
      );
      // TRUNCATE triggers are not inherited from the partitioned parent.
      await querier.query(
        `CREATE TRIGGER ${name}_no_truncate BEFORE TRUNCATE ON ${name} FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_mutation()`,
      );
      created.push(name);
    }
  }
  return created;
}

/** The monthly partitions that exist, oldest first (the `unscheduled` default partitions are not listed). */
export async function listMonthlyPartitions(querier: Querier): Promise<MonthlyPartition[]> {
  const rows = await querier.query<{ name: string }[]>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname LIKE 'audit_records_%' AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname`,
  );
  return rows.flatMap(({ name }) => {
    const match = PARTITION_NAME.exec(name);
    if (!match) return [];
    const from = new Date(Date.UTC(Number(match[2]), Number(match[3]) - 1, 1));
    return [{ name, retentionClass: match[1]!.replace(/_/g, '-') as RetentionClass, from, to: addMonths(from, 1) }];
  });
}
