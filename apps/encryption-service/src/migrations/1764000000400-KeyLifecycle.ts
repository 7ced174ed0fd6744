import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole key lifecycle: keyring purposes (field, blind-index, range, subject), wrapping (classic
 * or hybrid-pq, with the keyring's X-Wing key pair whose secret half is wrapped by the HSM KEK),
 * time- and usage-based rotation policy, a minimum decryption version, version states up to
 * `destroyed` (wrapped key erased), usage counters per version, and per-data-subject keys that can be
 * shredded. Rows are never deleted; destroying a key erases its bytes and keeps the metadata.
 */
export class KeyLifecycle1764000000400 implements MigrationInterface {
  readonly name = 'KeyLifecycle1764000000400';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE keyrings DROP CONSTRAINT keyrings_purpose_check`);
    await queryRunner.query(`
      ALTER TABLE keyrings
        ADD CONSTRAINT keyrings_purpose_check CHECK (purpose IN ('field', 'blind-index', 'range', 'subject')),
        ADD COLUMN wrapping text NOT NULL DEFAULT 'classic' CHECK (wrapping IN ('classic', 'hybrid-pq')),
        ADD COLUMN pq_public_key bytea,
        ADD COLUMN pq_secret_key_wrapped bytea,
        ADD COLUMN rotation_period_seconds integer CHECK (rotation_period_seconds >= 3600),
        ADD COLUMN max_encryptions_per_version bigint NOT NULL DEFAULT 1000000000
          CHECK (max_encryptions_per_version > 0 AND max_encryptions_per_version <= 2147483648),
        ADD COLUMN min_decryption_version integer NOT NULL DEFAULT 1 CHECK (min_decryption_version > 0),
        ADD COLUMN blind_index_token_bytes smallint NOT NULL DEFAULT 16 CHECK (blind_index_token_bytes BETWEEN 8 AND 32),
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        ADD CONSTRAINT keyrings_pq_key_pair CHECK ((pq_public_key IS NULL) = (pq_secret_key_wrapped IS NULL)),
        ADD CONSTRAINT keyrings_hybrid_has_key_pair CHECK (wrapping = 'classic' OR pq_public_key IS NOT NULL)`);
    await queryRunner.query(`ALTER TABLE key_versions DROP CONSTRAINT key_versions_state_check`);
    await queryRunner.query(`ALTER TABLE key_versions RENAME COLUMN usage_count TO encryptions`);
    await queryRunner.query(`
      ALTER TABLE key_versions
        ADD CONSTRAINT key_versions_state_check CHECK (state IN ('active', 'decrypt-only', 'retired', 'destroyed')),
        ALTER COLUMN wrapped_key DROP NOT NULL,
        ADD CONSTRAINT key_versions_destroyed_has_no_key CHECK ((state = 'destroyed') = (wrapped_key IS NULL)),
        ADD COLUMN wrapping text NOT NULL DEFAULT 'classic' CHECK (wrapping IN ('classic', 'hybrid-pq')),
        ADD COLUMN decryptions bigint NOT NULL DEFAULT 0,
        ADD COLUMN rewrapped_away bigint NOT NULL DEFAULT 0,
        ADD COLUMN last_used_at timestamptz,
        ADD COLUMN rotated_reason text,
        ADD COLUMN retired_at timestamptz,
        ADD COLUMN destroyed_at timestamptz`);
    await queryRunner.query(`
      CREATE TABLE subject_keys (
        tenant_id text NOT NULL,
        keyring_id text NOT NULL,
        subject_id text NOT NULL,
        state text NOT NULL CHECK (state IN ('active', 'destroyed')),
        wrapped_key bytea,
        kek_id text NOT NULL,
        wrapping text NOT NULL CHECK (wrapping IN ('classic', 'hybrid-pq')),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        encryptions bigint NOT NULL DEFAULT 0,
        decryptions bigint NOT NULL DEFAULT 0,
        last_used_at timestamptz,
        destroyed_at timestamptz,
        PRIMARY KEY (tenant_id, keyring_id, subject_id),
        FOREIGN KEY (tenant_id, keyring_id) REFERENCES keyrings (tenant_id, keyring_id),
        CHECK ((state = 'destroyed') = (wrapped_key IS NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX keyrings_rotation_due ON keyrings (tenant_id, keyring_id) WHERE rotation_period_seconds IS NOT NULL`,
    );
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['keyrings'], privileges: ['UPDATE'] },
      { role: 'app', tables: ['subject_keys'], privileges: ['SELECT', 'INSERT', 'UPDATE'] },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE subject_keys');
    await queryRunner.query(`
      ALTER TABLE key_versions
        DROP CONSTRAINT key_versions_state_check,
        DROP CONSTRAINT key_versions_destroyed_has_no_key,
        DROP COLUMN wrapping, DROP COLUMN decryptions, DROP COLUMN rewrapped_away, DROP COLUMN last_used_at,
        DROP COLUMN rotated_reason, DROP COLUMN retired_at, DROP COLUMN destroyed_at`);
    await queryRunner.query(`ALTER TABLE key_versions RENAME COLUMN encryptions TO usage_count`);
    await queryRunner.query(`ALTER TABLE key_versions ADD CONSTRAINT key_versions_state_check CHECK (state IN ('active', 'decrypt-only'))`);
    await queryRunner.query(`
      ALTER TABLE keyrings
        DROP CONSTRAINT keyrings_purpose_check, DROP CONSTRAINT keyrings_pq_key_pair, DROP CONSTRAINT keyrings_hybrid_has_key_pair,
        DROP COLUMN wrapping, DROP COLUMN pq_public_key, DROP COLUMN pq_secret_key_wrapped, DROP COLUMN rotation_period_seconds,
        DROP COLUMN max_encryptions_per_version, DROP COLUMN min_decryption_version, DROP COLUMN blind_index_token_bytes, DROP COLUMN updated_at`);
    await queryRunner.query(`ALTER TABLE keyrings ADD CONSTRAINT keyrings_purpose_check CHECK (purpose IN ('field'))`);
  }
}
