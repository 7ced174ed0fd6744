import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The cross-tenant list (GET /v1/audit/records) no longer pages by `seq`: it takes each tenant's
 * newest records through audit_records_tenant_time_desc (or the action index) and merges them. The
 * index on `seq` cost every appended record one more index insertion (about 4 µs of PostgreSQL CPU
 * of the ~30 an append takes, docs/benchmarks.md) for a platform administrator's convenience list.
 * The column stays (the list still shows it).
 */
export class DropRecordSeqIndex1764000000500 implements MigrationInterface {
  readonly name = 'DropRecordSeqIndex1764000000500';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX IF EXISTS audit_records_seq');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX audit_records_seq ON audit_records (seq)');
  }
}

export const RECORD_SEQ_INDEX_MIGRATIONS = [DropRecordSeqIndex1764000000500];
