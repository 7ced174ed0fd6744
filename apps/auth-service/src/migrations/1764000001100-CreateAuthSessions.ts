import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions with their sign-in context (docs/auth-sessions.md).
 * - `auth_sessions`: one row per browser session (oidc-provider's session `uid`): the account, how
 *   and when it last signed in, and the device context of that sign-in — IP, country (from the
 *   gateway's header), user agent and the keyed hash of the device cookie. The row outlives
 *   oidc-provider's 12-hour session entry because refresh tokens issued through it live 30 days;
 *   `ended_at` marks a session ended by logout or revocation.
 * - `oidc_models.session_uid`: the session a code or token was issued through, so one session's
 *   token families can be revoked without touching the account's others.
 */
export class CreateAuthSessions1764000001100 implements MigrationInterface {
  readonly name = 'CreateAuthSessions1764000001100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE oidc_models ADD COLUMN session_uid text');
    await queryRunner.query('CREATE INDEX oidc_models_session ON oidc_models (session_uid) WHERE session_uid IS NOT NULL');
    await queryRunner.query(`
      CREATE TABLE auth_sessions (
        session_id text PRIMARY KEY,
        tenant_id text NOT NULL,
        account_id uuid NOT NULL REFERENCES accounts (account_id),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        signed_in_at timestamptz NOT NULL,
        acr text NOT NULL,
        amr text[] NOT NULL,
        client_id text NOT NULL,
        ip inet,
        country char(2) CHECK (country ~ '^[A-Z]{2}$'),
        user_agent text CHECK (length(user_agent) <= 1024),
        device_fingerprint text CHECK (length(device_fingerprint) <= 64),
        ended_at timestamptz,
        end_reason text
      )`);
    await queryRunner.query('CREATE INDEX auth_sessions_account ON auth_sessions (account_id, signed_in_at DESC)');
    await grantToRuntimeRoles(queryRunner, [{ role: 'app', tables: ['auth_sessions'], privileges: ['SELECT', 'INSERT', 'UPDATE'] }]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE auth_sessions');
    await queryRunner.query('ALTER TABLE oidc_models DROP COLUMN session_uid');
  }
}
