import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * TOTP second factors. The base32 secret is stored only wrapped by the HSM KEK (the account id bound
 * as additional data). `last_used_step` is the replay guard: a code's time step is accepted once, and
 * never one at or before the last accepted step. `totp_pending` holds an enrollment shown to the
 * person until they prove it with a first code; `mfa_pending_sign_ins` records, per interaction, that
 * the password step succeeded and the second factor is still due.
 */
export class CreateTotpFactors1764000000600 implements MigrationInterface {
  readonly name = 'CreateTotpFactors1764000000600';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE totp_factors (
        account_id uuid PRIMARY KEY REFERENCES accounts (account_id),
        secret_wrapped bytea NOT NULL,
        kek_id text NOT NULL,
        algorithm text NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
        digits integer NOT NULL CHECK (digits BETWEEN 6 AND 8),
        period integer NOT NULL CHECK (period BETWEEN 15 AND 300),
        last_used_step bigint,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`
      CREATE TABLE totp_pending (
        account_id uuid PRIMARY KEY REFERENCES accounts (account_id),
        secret_wrapped bytea NOT NULL,
        kek_id text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE mfa_pending_sign_ins (
        interaction_uid text PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts (account_id),
        expires_at timestamptz NOT NULL
      )`);
    await grantToRuntimeRoles(queryRunner, [
      {
        role: 'app',
        tables: ['totp_factors', 'totp_pending', 'mfa_pending_sign_ins'],
        privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
      },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['mfa_pending_sign_ins', 'totp_pending', 'totp_factors']) await queryRunner.query(`DROP TABLE ${table}`);
  }
}
