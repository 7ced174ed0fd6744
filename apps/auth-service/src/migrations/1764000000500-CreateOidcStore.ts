import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The OpenID provider's storage.
 * - `oidc_models`: every oidc-provider model (sessions, interactions, grants, codes, tokens, PAR
 *   requests, DPoP replay entries). Rows are keyed by the SHA-256 of the model id, and the id itself
 *   is not stored, so a copy of the table yields no usable authorization code or refresh token.
 * - `oauth_clients`: registered clients; a client secret is stored only wrapped by the HSM KEK.
 * - `signing_keys`: ES256 token-signing keys; the private key is stored only wrapped by the HSM KEK.
 * - `provider_secrets`: other provider secrets (cookie-signing keys), wrapped by the HSM KEK.
 * - `accounts`: local accounts (argon2id password hashes) with their tenant and roles.
 * - `login_throttle`: consecutive sign-in failures per account and per client IP, and lockouts.
 */
export class CreateOidcStore1764000000500 implements MigrationInterface {
  readonly name = 'CreateOidcStore1764000000500';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE oidc_models (
        model text NOT NULL,
        id_hash bytea NOT NULL,
        payload jsonb NOT NULL,
        grant_id text,
        uid text,
        user_code text,
        expires_at timestamptz,
        consumed_at timestamptz,
        PRIMARY KEY (model, id_hash)
      )`);
    await queryRunner.query('CREATE INDEX oidc_models_grant ON oidc_models (grant_id) WHERE grant_id IS NOT NULL');
    await queryRunner.query('CREATE INDEX oidc_models_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL');
    await queryRunner.query('CREATE INDEX oidc_models_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL');
    await queryRunner.query('CREATE INDEX oidc_models_expiry ON oidc_models (expires_at)');
    await queryRunner.query(`
      CREATE TABLE oauth_clients (
        client_id text PRIMARY KEY,
        tenant_id text NOT NULL,
        metadata jsonb NOT NULL,
        roles text[] NOT NULL DEFAULT '{}',
        secret_wrapped bytea,
        kek_id text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CHECK ((secret_wrapped IS NULL) = (kek_id IS NULL))
      )`);
    await queryRunner.query(`
      CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL CHECK (alg IN ('ES256')),
        public_jwk jsonb NOT NULL,
        private_wrapped bytea NOT NULL,
        kek_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        retired_at timestamptz
      )`);
    await queryRunner.query(`
      CREATE TABLE provider_secrets (
        name text PRIMARY KEY,
        secret_wrapped bytea NOT NULL,
        kek_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`
      CREATE TABLE accounts (
        account_id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        username text NOT NULL,
        password_hash text NOT NULL,
        roles text[] NOT NULL DEFAULT '{}',
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (tenant_id, username)
      )`);
    await queryRunner.query(`
      CREATE TABLE login_throttle (
        key text PRIMARY KEY,
        failures integer NOT NULL DEFAULT 0,
        last_failure_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        locked_until timestamptz
      )`);
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['oidc_models', 'login_throttle'], privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
      { role: 'app', tables: ['oauth_clients', 'signing_keys', 'accounts'], privileges: ['SELECT', 'INSERT', 'UPDATE'] },
      { role: 'app', tables: ['provider_secrets'], privileges: ['SELECT', 'INSERT'] },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['login_throttle', 'accounts', 'provider_secrets', 'signing_keys', 'oauth_clients', 'oidc_models'])
      await queryRunner.query(`DROP TABLE ${table}`);
  }
}
