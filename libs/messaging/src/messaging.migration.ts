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

/**
 * The outbox is a queue: every row is deleted moments after it is inserted. Until VACUUM removes them,
 * the deleted rows' entries stay in the primary-key index, and the relay's `ORDER BY seq LIMIT n` walks
 * over all of them on every read (here about 0.4 ms more per read for each 100,000 dead rows). With the
 * default thresholds (20 % of a table that holds a few hundred live rows, checked once per
 * `autovacuum_naptime`) they piled up to 110,000 within a minute of a bench and the relay's reads grew
 * slower through the run. These settings make autovacuum take the outbox as soon as 5,000 rows are dead
 * and without cost-based pauses; how often autovacuum looks at the database is the server's
 * `autovacuum_naptime` (docs/architecture.md).
 */
export class TuneOutboxVacuum1764100000000 implements MigrationInterface {
  readonly name = 'TuneOutboxVacuum1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay)',
    );
  }
}

export const MESSAGING_MIGRATIONS = [CreateOutboxAndInbox1764000000000, TuneOutboxVacuum1764100000000] as const;
