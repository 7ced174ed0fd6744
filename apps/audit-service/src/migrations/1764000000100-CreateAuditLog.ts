import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { FORENSIC_SEARCH_MIGRATIONS } from './1764000000200-AddForensicSearchColumns';
import { TREE_TILE_MIGRATIONS } from './1764000000300-StoreTreeAsTiles';
import { SIEM_FORWARDING_MIGRATIONS } from './1764000000400-AddSiemForwarding';
import { RECORD_SEQ_INDEX_MIGRATIONS } from './1764000000500-DropRecordSeqIndex';

/**
 * The tamper-evident audit log: one RFC 6962 Merkle tree per tenant.
 * - audit_records: the leaves, each with the exact RFC 8785 bytes that were hashed (`entry`).
 * - audit_tree_nodes: every perfect subtree root (level 0 = leaf hashes), written at append time;
 *   proofs are built from these without reading the log. (Replaced by audit_tree_tiles in
 *   1764000000300-StoreTreeAsTiles.)
 * - audit_log_heads: per tenant, the size and the frontier (roots of the perfect subtrees that make
 *   up the tree), so appends and roots never re-read old leaves.
 * - audit_checkpoints: signed tree heads; audit_signing_keys: the public keys that signed them.
 * - audit_retention_policies, audit_legal_holds, audit_pruned_ranges: retention by dropping whole
 *   monthly partitions, blocked by legal holds, with the pruned leaf ranges recorded.
 * Rows of the log, nodes, keys, checkpoints and pruned ranges can be inserted, never updated or
 * deleted; records leave only when retention drops their whole partition.
 */
export class CreateAuditLog1764000000100 implements MigrationInterface {
  readonly name = 'CreateAuditLog1764000000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Partitioned by retention class, then by month of receipt (partitions are created ahead of time by
    // the retention job; each class has an `unscheduled` default partition that is never expired).
    // Unique constraints on a partitioned table must include the partition keys, so leaf-index and
    // event-id uniqueness are enforced by the append path (tenant head row lock, inbox), not by PostgreSQL.
    await queryRunner.query(`
      CREATE TABLE audit_records (
        tenant_id text NOT NULL,
        leaf_index bigint NOT NULL CHECK (leaf_index >= 0),
        retention_class text NOT NULL CHECK (retention_class IN ('security-operations', 'default', 'compliance')),
        seq bigserial NOT NULL,
        event_id text NOT NULL,
        source text NOT NULL,
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL,
        actor_type text NOT NULL,
        actor_id text NOT NULL,
        action text NOT NULL,
        resource_type text NOT NULL,
        resource_id text,
        status text NOT NULL CHECK (status IN ('success', 'failure', 'denied')),
        request_id text,
        entry text NOT NULL,
        leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32),
        PRIMARY KEY (tenant_id, leaf_index, retention_class, received_at)
      ) PARTITION BY LIST (retention_class)`);
    for (const retentionClass of ['security-operations', 'default', 'compliance']) {
      const name = `audit_records_${retentionClass.replace(/-/g, '_')}`;
      await queryRunner.query(
        `CREATE TABLE ${name} PARTITION OF audit_records FOR VALUES IN ('${retentionClass}') PARTITION BY RANGE (received_at)`,
      );
      await queryRunner.query(`CREATE TABLE ${name}_unscheduled PARTITION OF ${name} DEFAULT`);
    }
    await queryRunner.query('CREATE INDEX audit_records_event ON audit_records (event_id)');
    await queryRunner.query('CREATE INDEX audit_records_seq ON audit_records (seq)');
    await queryRunner.query(`
      CREATE TABLE audit_tree_nodes (
        tenant_id text NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
        node_index bigint NOT NULL CHECK (node_index >= 0),
        hash bytea NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (tenant_id, level, node_index)
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_log_heads (
        tenant_id text PRIMARY KEY,
        size bigint NOT NULL CHECK (size >= 0),
        frontier bytea[] NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_signing_keys (
        key_id text PRIMARY KEY,
        algorithm text NOT NULL CHECK (algorithm = 'Ed25519'),
        public_key bytea NOT NULL CHECK (length(public_key) = 32),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_checkpoints (
        tenant_id text NOT NULL,
        tree_size bigint NOT NULL CHECK (tree_size > 0),
        root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
        issued_at timestamptz NOT NULL,
        key_id text NOT NULL REFERENCES audit_signing_keys (key_id),
        note text NOT NULL,
        signature bytea NOT NULL,
        PRIMARY KEY (tenant_id, tree_size)
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_retention_policies (
        retention_class text PRIMARY KEY,
        retain_days integer NOT NULL CHECK (retain_days > 0)
      )`);
    await queryRunner.query(
      `INSERT INTO audit_retention_policies VALUES ('security-operations', 90), ('default', 365), ('compliance', 2557)`,
    );
    await queryRunner.query(`
      CREATE TABLE audit_legal_holds (
        hold_id uuid PRIMARY KEY,
        tenant_id text,
        covers_from timestamptz NOT NULL,
        covers_to timestamptz NOT NULL CHECK (covers_to > covers_from),
        reason text NOT NULL,
        placed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        released_at timestamptz
      )`);
    // Leaf ranges whose records were dropped by retention; their leaf nodes stay in audit_tree_nodes,
    // so the tree (and every checkpoint) still verifies without the records.
    await queryRunner.query(`
      CREATE TABLE audit_pruned_ranges (
        tenant_id text NOT NULL,
        first_index bigint NOT NULL,
        last_index bigint NOT NULL CHECK (last_index >= first_index),
        partition_name text NOT NULL,
        pruned_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (tenant_id, first_index)
      )`);
    await queryRunner.query(`
      CREATE FUNCTION audit_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit log tables are append-only (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['audit_records', 'audit_tree_nodes', 'audit_checkpoints', 'audit_signing_keys', 'audit_pruned_ranges']) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION audit_reject_mutation()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_mutation()`,
      );
    }

    // The running service may append and read, never change or remove log rows; partitions are
    // created and dropped by the owner (retention runs on the owner connection).
    await grantToRuntimeRoles(queryRunner, [
      {
        role: 'app',
        tables: ['audit_records', 'audit_tree_nodes', 'audit_checkpoints', 'audit_signing_keys'],
        privileges: ['SELECT', 'INSERT'],
        sequences: ['audit_records_seq_seq'],
      },
      { role: 'app', tables: ['audit_log_heads', 'audit_legal_holds'], privileges: ['SELECT', 'INSERT', 'UPDATE'] },
      { role: 'app', tables: ['audit_retention_policies', 'audit_pruned_ranges'], privileges: ['SELECT'] },
      {
        role: 'verifier',
        tables: ['audit_records', 'audit_tree_nodes', 'audit_log_heads', 'audit_checkpoints', 'audit_signing_keys', 'audit_pruned_ranges'],
        privileges: ['SELECT'],
      },
    ]);
  }

  async down(): Promise<void> {
    await Promise.reject(new Error('the audit log is append-only: this migration cannot be reverted'));
  }
}

export const AUDIT_MIGRATIONS = [
  CreateAuditLog1764000000100,
  ...FORENSIC_SEARCH_MIGRATIONS,
  ...TREE_TILE_MIGRATIONS,
  ...SIEM_FORWARDING_MIGRATIONS,
  ...RECORD_SEQ_INDEX_MIGRATIONS,
];
