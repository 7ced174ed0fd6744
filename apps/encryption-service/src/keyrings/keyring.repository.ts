import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { EntityManager } from 'typeorm';
import type { WrappedDataKey } from './data-keys';

export interface KeyVersionRow {
  version: number;
  wrapped_key: Buffer;
  kek_id: string;
}

/** SQL for keyrings and key_versions; every write takes the EntityManager of the caller's transaction. */
@Injectable()
export class KeyringRepository {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  /** False when the keyring already exists. */
  async insertKeyring(manager: EntityManager, tenantId: string, keyringId: string): Promise<boolean> {
    const rows = await manager.query<unknown[]>(
      `INSERT INTO keyrings (tenant_id, keyring_id, purpose) VALUES ($1, $2, 'field') ON CONFLICT DO NOTHING RETURNING keyring_id`,
      [tenantId, keyringId],
    );
    return rows.length === 1;
  }

  /** Locks the keyring row against concurrent rotations; false when it does not exist. */
  async lockKeyring(manager: EntityManager, tenantId: string, keyringId: string): Promise<boolean> {
    const rows = await manager.query<unknown[]>('SELECT 1 FROM keyrings WHERE tenant_id = $1 AND keyring_id = $2 FOR UPDATE', [
      tenantId,
      keyringId,
    ]);
    return rows.length === 1;
  }

  async keyringExists(tenantId: string, keyringId: string): Promise<boolean> {
    const rows = await this.runtime.dataSource.query<unknown[]>('SELECT 1 FROM keyrings WHERE tenant_id = $1 AND keyring_id = $2', [
      tenantId,
      keyringId,
    ]);
    return rows.length === 1;
  }

  async latestVersion(manager: EntityManager, tenantId: string, keyringId: string): Promise<number> {
    const [row] = await manager.query<{ version: number | null }[]>(
      'SELECT max(version) AS version FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2',
      [tenantId, keyringId],
    );
    return row?.version ?? 0;
  }

  async deactivateVersions(manager: EntityManager, tenantId: string, keyringId: string): Promise<void> {
    await manager.query(`UPDATE key_versions SET state = 'decrypt-only' WHERE tenant_id = $1 AND keyring_id = $2 AND state = 'active'`, [
      tenantId,
      keyringId,
    ]);
  }

  async insertActiveVersion(
    manager: EntityManager,
    tenantId: string,
    keyringId: string,
    version: number,
    key: WrappedDataKey,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO key_versions (tenant_id, keyring_id, version, state, wrapped_key, kek_id) VALUES ($1, $2, $3, 'active', $4, $5)`,
      [tenantId, keyringId, version, key.wrappedKey, key.kekId],
    );
  }

  /** The active version, counted as one more use; undefined when the keyring does not exist. */
  async useActiveVersion(tenantId: string, keyringId: string): Promise<KeyVersionRow | undefined> {
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const [rows] = await this.runtime.dataSource.query<[KeyVersionRow[], number]>(
      `UPDATE key_versions SET usage_count = usage_count + 1
        WHERE tenant_id = $1 AND keyring_id = $2 AND state = 'active'
        RETURNING version, wrapped_key, kek_id`,
      [tenantId, keyringId],
    );
    return rows[0];
  }

  async findVersion(tenantId: string, keyringId: string, version: number): Promise<KeyVersionRow | undefined> {
    const [row] = await this.runtime.dataSource.query<KeyVersionRow[]>(
      'SELECT version, wrapped_key, kek_id FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 AND version = $3',
      [tenantId, keyringId, version],
    );
    return row;
  }
}
