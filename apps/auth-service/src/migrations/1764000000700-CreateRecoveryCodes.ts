import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Single-use recovery codes (argon2id hashes only; the codes are shown once), and the sign-in step
 * that shows them: `second_factor_at` marks an interaction whose second factor is done and whose
 * new recovery codes are on screen until the person continues.
 */
export class CreateRecoveryCodes1764000000700 implements MigrationInterface {
  readonly name = 'CreateRecoveryCodes1764000000700';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE recovery_codes (
        code_id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts (account_id),
        hash text NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query('CREATE INDEX recovery_codes_account ON recovery_codes (account_id) WHERE used_at IS NULL');
    await queryRunner.query('ALTER TABLE mfa_pending_sign_ins ADD COLUMN second_factor_at timestamptz');
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['recovery_codes'], privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE mfa_pending_sign_ins DROP COLUMN second_factor_at');
    await queryRunner.query('DROP TABLE recovery_codes');
  }
}
