import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox (events waiting for the relay) and inbox (event ids a consumer group has processed).
 * Both live in the owning service's schema, which is the connection's search_path.
 */
export class CreateOutboxAndInbox1764000000000 implements MigrationInterface {
  readonly name = 'CreateOutboxAndInbox1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE outbox (
        seq bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        topic text NOT NULL,
        message_key text NOT NULL,
        payload text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`
      CREATE TABLE inbox (
        consumer_group text NOT NULL,
        event_id text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (consumer_group, event_id)
      )`);
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['outbox'], privileges: ['SELECT', 'INSERT', 'DELETE'], sequences: ['outbox_seq_seq'] },
      { role: 'app', tables: ['inbox'], privileges: ['SELECT', 'INSERT'] },
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE inbox');
    await queryRunner.query('DROP TABLE outbox');
  }
}

export const MESSAGING_MIGRATIONS = [CreateOutboxAndInbox1764000000000] as const;
