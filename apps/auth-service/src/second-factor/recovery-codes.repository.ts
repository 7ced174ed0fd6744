import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { affectedRows } from '../database/affected-rows';
import type { RecoveryCodeStore, StoredRecoveryCode } from '../mfa';

/** src/mfa's RecoveryCodeStore on PostgreSQL: argon2id hashes only, each code burnt by an atomic UPDATE. */
@Injectable()
export class RecoveryCodesRepository implements RecoveryCodeStore {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async replaceAll(accountId: string, hashes: readonly string[]): Promise<void> {
    await this.runtime.dataSource.transaction(async (manager) => {
      await manager.query('DELETE FROM recovery_codes WHERE account_id = $1', [accountId]);
      for (const hash of hashes)
        await manager.query('INSERT INTO recovery_codes (code_id, account_id, hash) VALUES ($1, $2, $3)', [randomUUID(), accountId, hash]);
    });
  }

  async listUnused(accountId: string): Promise<readonly StoredRecoveryCode[]> {
    const rows = await this.runtime.dataSource.query<{ code_id: string; hash: string }[]>(
      'SELECT code_id, hash FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL ORDER BY created_at, code_id',
      [accountId],
    );
    return rows.map((row) => ({ id: row.code_id, hash: row.hash }));
  }

  async markUsed(accountId: string, codeId: string): Promise<boolean> {
    const changed = await affectedRows(
      this.runtime.dataSource,
      'UPDATE recovery_codes SET used_at = now() WHERE code_id = $1 AND account_id = $2 AND used_at IS NULL',
      [codeId, accountId],
    );
    return changed === 1;
  }
}
