import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Audit records as received from the audit topic. The Merkle log (issue 4) builds on this table. */
export class CreateAuditRecords1764000000100 implements MigrationInterface {
  readonly name = 'CreateAuditRecords1764000000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_records (
        seq bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        tenant_id text NOT NULL,
        source text NOT NULL,
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_type text NOT NULL,
        actor_id text NOT NULL,
        action text NOT NULL,
        resource_type text NOT NULL,
        resource_id text,
        status text NOT NULL CHECK (status IN ('success', 'failure', 'denied')),
        request_id text,
        record jsonb NOT NULL
      )`);
    await queryRunner.query('CREATE INDEX audit_records_tenant_time ON audit_records (tenant_id, occurred_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE audit_records');
  }
}

export const AUDIT_MIGRATIONS = [CreateAuditRecords1764000000100];
