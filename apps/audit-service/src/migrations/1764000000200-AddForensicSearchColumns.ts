import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Name → definition of the indexes behind forensic search (all on the partitioned audit_records). */
export const FORENSIC_SEARCH_INDEXES = {
  // Each equality filter is followed by the page order (occurred_at DESC, leaf_index DESC) where a
  // filter matches many records, so a page is read in index order and never sorted.
  audit_records_tenant_actor_time: '(tenant_id, actor_id, occurred_at DESC, leaf_index DESC)',
  audit_records_tenant_action_time: '(tenant_id, action, occurred_at DESC, leaf_index DESC)',
  audit_records_tenant_time_desc: '(tenant_id, occurred_at DESC, leaf_index DESC)',
  audit_records_tenant_resource: '(tenant_id, resource_type, resource_id)',
  // Many records (service events, background jobs) carry no session or request id.
  audit_records_tenant_session: '(tenant_id, session_id) WHERE session_id IS NOT NULL',
  audit_records_tenant_request: '(tenant_id, request_id) WHERE request_id IS NOT NULL',
} as const;

/**
 * Columns and indexes for forensic search (apps/audit-service/src/forensic-search).
 *
 * session_id, risk_score and country copy fields of the hashed entry so that they can be filtered
 * and indexed; the entry stays the source of truth. audit_records rejects UPDATE (append-only
 * triggers), so this migration does not backfill: records appended before it keep NULL in the new
 * columns and are not found by the session, risk-score or country filters (their values are still in
 * `entry`). Records appended after it get the columns from the append path.
 *
 * Indexes on the partitioned table cascade to every partition, present and future. On a large log,
 * CREATE INDEX blocks appends while it builds (the consumer waits; Kafka keeps the records).
 */
export class AddForensicSearchColumns1764000000200 implements MigrationInterface {
  readonly name = 'AddForensicSearchColumns1764000000200';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE audit_records
        ADD COLUMN session_id text,
        ADD COLUMN risk_score real CHECK (risk_score BETWEEN 0 AND 100),
        ADD COLUMN country text CHECK (country ~ '^[A-Z]{2}$')`);
    for (const [name, definition] of Object.entries(FORENSIC_SEARCH_INDEXES)) {
      await queryRunner.query(`CREATE INDEX ${name} ON audit_records ${definition}`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Only derived data goes: the columns repeat what the hashed entries hold.
    for (const name of Object.keys(FORENSIC_SEARCH_INDEXES)) await queryRunner.query(`DROP INDEX ${name}`);
    await queryRunner.query('ALTER TABLE audit_records DROP COLUMN session_id, DROP COLUMN risk_score, DROP COLUMN country');
  }
}

export const FORENSIC_SEARCH_MIGRATIONS = [AddForensicSearchColumns1764000000200];
