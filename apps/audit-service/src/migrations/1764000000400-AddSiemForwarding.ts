import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * State of the continuous SIEM forwarder (siem-export/siem-forwarder.ts): each syslog destination it
 * has forwarded to, and per destination and tenant the next leaf index to send. Neither is part of
 * the log: the service updates the cursors, never the records.
 */
export class AddSiemForwarding1764000000400 implements MigrationInterface {
  readonly name = 'AddSiemForwarding1764000000400';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_siem_destinations (
        destination text PRIMARY KEY,
        start text NOT NULL CHECK (start IN ('beginning', 'end')),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_siem_cursors (
        destination text NOT NULL REFERENCES audit_siem_destinations (destination),
        tenant_id text NOT NULL,
        next_index bigint NOT NULL CHECK (next_index >= 0),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (destination, tenant_id)
      )`);
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['audit_siem_destinations'], privileges: ['SELECT', 'INSERT'] },
      { role: 'app', tables: ['audit_siem_cursors'], privileges: ['SELECT', 'INSERT', 'UPDATE'] },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE audit_siem_cursors');
    await queryRunner.query('DROP TABLE audit_siem_destinations');
  }
}

export const SIEM_FORWARDING_MIGRATIONS = [AddSiemForwarding1764000000400];
