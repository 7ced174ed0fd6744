import type { DataSource, EntityManager } from 'typeorm';
import type { AttemptState, LoginAttemptStore } from '../mfa';

interface ThrottleRow {
  failures: number;
  last_failure_at: Date;
  locked_until: Date | null;
}

/**
 * src/mfa's `LoginAttemptStore` on PostgreSQL (`login_throttle`), shared by every replica: the one
 * store behind the password and second-factor throttles. `last_failure_at` holds the last charged
 * attempt (`lastAttemptAt`; attempts are charged before the check). States carry their own times, so
 * an idle row is simply forgotten by the policy; the TTL is not stored, and OidcMaintenance deletes rows
 * idle for an hour and not locked.
 */
export class PgLoginAttemptStore implements LoginAttemptStore {
  constructor(private readonly dataSource: DataSource) {}

  async get(key: string): Promise<AttemptState | undefined> {
    const [row] = await this.dataSource.query<ThrottleRow[]>(
      'SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1',
      [key],
    );
    return row ? toState(row) : undefined;
  }

  /**
   * Atomic read-modify-write: a missing row is inserted first (`ON CONFLICT DO NOTHING` waits for a
   * concurrent inserter), so `FOR UPDATE` always has a row to lock and parallel attempts on one key
   * are applied one after the other, never lost.
   */
  async update(key: string, next: (current: AttemptState | undefined) => AttemptState | undefined): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const current = await lockRow(manager, key);
      const state = next(current);
      if (state === undefined) await manager.query('DELETE FROM login_throttle WHERE key = $1', [key]);
      else
        await manager.query('UPDATE login_throttle SET failures = $2, last_failure_at = $3, locked_until = $4 WHERE key = $1', [
          key,
          state.failures,
          new Date(state.lastAttemptAt),
          state.lockedUntil === null ? null : new Date(state.lockedUntil),
        ]);
    });
  }
}

/**
 * Inserts the key's row or locks the existing one, and returns its state (undefined when just
 * inserted). A row deleted between the two statements (by a success or the maintenance purge) is
 * inserted again, so the caller's UPDATE always has its row.
 */
async function lockRow(manager: EntityManager, key: string): Promise<AttemptState | undefined> {
  for (let tries = 0; tries < 5; tries++) {
    const inserted = await manager.query<unknown[]>(
      'INSERT INTO login_throttle (key, failures) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING RETURNING key',
      [key],
    );
    if (inserted.length > 0) return undefined;
    const [row] = await manager.query<ThrottleRow[]>(
      'SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1 FOR UPDATE',
      [key],
    );
    if (row) return toState(row);
  }
  throw new Error('a login_throttle row was deleted five times while being locked');
}

function toState(row: ThrottleRow): AttemptState {
  return { failures: row.failures, lastAttemptAt: row.last_failure_at.getTime(), lockedUntil: row.locked_until?.getTime() ?? null };
}
