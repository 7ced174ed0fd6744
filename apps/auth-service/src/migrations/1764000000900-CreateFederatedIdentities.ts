import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Federation to upstream identity providers.
 * - `federated_identities`: an upstream identity (issuer + `sub`, per tenant) linked to the local
 *   account it signs in as. Linking is only ever by issuer and `sub`, never by e-mail or name.
 * - `federation_flows`: a sign-in sent to an upstream IdP, keyed by the SHA-256 of its `state`, bound
 *   to the oidc-provider interaction; the PKCE verifier is stored only wrapped by the HSM KEK. The
 *   callback consumes the row once (`consumed_at`), records the verified account, and the interaction
 *   takes it once (`completed_at`).
 */
export class CreateFederatedIdentities1764000000900 implements MigrationInterface {
  readonly name = 'CreateFederatedIdentities1764000000900';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE federated_identities (
        tenant_id text NOT NULL,
        issuer text NOT NULL,
        subject text NOT NULL,
        idp_id text NOT NULL,
        account_id uuid NOT NULL REFERENCES accounts (account_id),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_sign_in_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (tenant_id, issuer, subject)
      )`);
    await queryRunner.query('CREATE INDEX federated_identities_account ON federated_identities (account_id)');
    await queryRunner.query(`
      CREATE TABLE federation_flows (
        state_hash bytea PRIMARY KEY,
        interaction_uid text NOT NULL,
        tenant_id text NOT NULL,
        idp_id text NOT NULL,
        client_id text NOT NULL,
        verifier_wrapped bytea NOT NULL,
        kek_id text NOT NULL,
        nonce text NOT NULL,
        expires_at timestamptz NOT NULL,
        consumed_at timestamptz,
        account_id uuid REFERENCES accounts (account_id),
        upstream_mfa boolean,
        completed_at timestamptz
      )`);
    await queryRunner.query('CREATE INDEX federation_flows_interaction ON federation_flows (interaction_uid)');
    await queryRunner.query('CREATE INDEX federation_flows_expiry ON federation_flows (expires_at)');
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['federated_identities'], privileges: ['SELECT', 'INSERT', 'UPDATE'] },
      { role: 'app', tables: ['federation_flows'], privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['federation_flows', 'federated_identities']) await queryRunner.query(`DROP TABLE ${table}`);
  }
}
