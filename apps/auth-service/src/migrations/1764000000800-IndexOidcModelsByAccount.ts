import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The account each provider entry belongs to, so every session and grant of an account can be revoked at once. */
export class IndexOidcModelsByAccount1764000000800 implements MigrationInterface {
  readonly name = 'IndexOidcModelsByAccount1764000000800';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE oidc_models ADD COLUMN account_id text');
    await queryRunner.query(`UPDATE oidc_models SET account_id = payload->>'accountId' WHERE payload ? 'accountId'`);
    await queryRunner.query('CREATE INDEX oidc_models_account ON oidc_models (account_id) WHERE account_id IS NOT NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX oidc_models_account');
    await queryRunner.query('ALTER TABLE oidc_models DROP COLUMN account_id');
  }
}
