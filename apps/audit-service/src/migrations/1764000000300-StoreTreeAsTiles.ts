import { grantToRuntimeRoles } from '@traceo/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The stored tree moves from one row per perfect subtree root (audit_tree_nodes: two rows per
 * appended record, the most expensive part of an append after the record itself) to tiles
 * (libs/merkle tiles.ts, the layout of Trillian Tessera / C2SP tlog-tiles): a row holds up to 256
 * consecutive nodes of a level that is a multiple of 8, and every other node is computed from the
 * tile below it. A tile that is still filling is stored again, wider, by each append that extends it;
 * readers take the widest copy. Like the nodes before them, tiles are only ever inserted.
 *
 * Existing nodes are copied into tiles (the levels that are multiples of 8 hold everything needed),
 * then audit_tree_nodes is dropped.
 */
export class StoreTreeAsTiles1764000000300 implements MigrationInterface {
  readonly name = 'StoreTreeAsTiles1764000000300';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_tree_tiles (
        tenant_id text NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 0 AND 56 AND level % 8 = 0),
        tile_index bigint NOT NULL CHECK (tile_index >= 0),
        width smallint NOT NULL CHECK (width BETWEEN 1 AND 256),
        hashes bytea NOT NULL CHECK (length(hashes) = 32 * width),
        PRIMARY KEY (tenant_id, level, tile_index, width)
      )`);
    // Hashes do not compress: store them without trying.
    await queryRunner.query('ALTER TABLE audit_tree_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL');
    await queryRunner.query(`
      INSERT INTO audit_tree_tiles (tenant_id, level, tile_index, width, hashes)
      SELECT tenant_id, level, node_index / 256, count(*), string_agg(hash, ''::bytea ORDER BY node_index)
        FROM audit_tree_nodes
       WHERE level % 8 = 0
       GROUP BY tenant_id, level, node_index / 256`);
    await queryRunner.query('DROP TABLE audit_tree_nodes');
    await queryRunner.query(
      'CREATE TRIGGER audit_tree_tiles_append_only BEFORE UPDATE OR DELETE ON audit_tree_tiles FOR EACH ROW EXECUTE FUNCTION audit_reject_mutation()',
    );
    await queryRunner.query(
      'CREATE TRIGGER audit_tree_tiles_no_truncate BEFORE TRUNCATE ON audit_tree_tiles FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_mutation()',
    );
    await grantToRuntimeRoles(queryRunner, [
      { role: 'app', tables: ['audit_tree_tiles'], privileges: ['SELECT', 'INSERT'] },
      { role: 'verifier', tables: ['audit_tree_tiles'], privileges: ['SELECT'] },
    ]);
  }

  async down(): Promise<void> {
    await Promise.reject(new Error('the audit log is append-only: this migration cannot be reverted'));
  }
}

export const TREE_TILE_MIGRATIONS = [StoreTreeAsTiles1764000000300];
