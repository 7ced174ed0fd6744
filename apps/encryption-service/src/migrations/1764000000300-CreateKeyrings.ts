import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keyrings and their data-key versions. A data key is stored only wrapped by the HSM's key-encryption
 * key (`kek_id` names which one); exactly one version per keyring is active, older ones decrypt only.
 * Nothing is ever deleted by the running service.
 */
export class CreateKeyrings1764000000300 implements MigrationInterface {
  readonly name = 'CreateKeyrings1764000000300';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE keyrings (
        tenant_id text NOT NULL,
        keyring_id text NOT NULL,
        purpose text NOT NULL CHECK (purpose IN ('field')),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (tenant_id, keyring_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE key_versions (
        tenant_id text NOT NULL,
        keyring_id text NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        state text NOT NULL CHECK (state IN ('active', 'decrypt-only')),
        wrapped_key bytea NOT NULL,
        kek_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        usage_count bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, keyring_id, version),
        FOREIGN KEY (tenant_id, keyring_id) REFERENCES keyrings (tenant_id, keyring_id)
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX key_versions_one_active ON key_versions (tenant_id, keyring_id) WHERE state = 'active'`);
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['keyrings'], privileges: ['SELECT', 'INSERT'] },
      { role: 'app', tables: ['key_versions'], privileges: ['SELECT', 'INSERT', 'UPDATE'] },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE key_versions');
    await queryRunner.query('DROP TABLE keyrings');
  }
}
