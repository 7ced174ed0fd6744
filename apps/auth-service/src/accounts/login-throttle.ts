import type { DataSource } from 'typeorm';
import { AttemptThrottle, MFA_THROTTLE_POLICY, type AttemptState, type LoginAttemptStore, type ThrottlePolicy } from '../mfa';

interface ThrottleRow {
  failures: number;
  last_failure_at: Date;
  locked_until: Date | null;
}

/**
 * src/mfa's `LoginAttemptStore` on PostgreSQL (`login_throttle`), shared by every replica: the one
 * store behind the password and second-factor throttles. `last_failure_at` holds the last charged
 * attempt (`lastAttemptAt`; attempts are charged before the check). States carry their own times, so
 * an idle row is simply forgotten by the policy; the TTL is not stored.
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
      const inserted = await manager.query<unknown[]>(
        'INSERT INTO login_throttle (key, failures) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING RETURNING key',
        [key],
      );
      let current: AttemptState | undefined;
      if (inserted.length === 0) {
        const [row] = await manager.query<ThrottleRow[]>(
          'SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1 FOR UPDATE',
          [key],
        );
        current = row ? toState(row) : undefined;
      }
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

function toState(row: ThrottleRow): AttemptState {
  return { failures: row.failures, lastAttemptAt: row.last_failure_at.getTime(), lockedUntil: row.locked_until?.getTime() ?? null };
}

/** @deprecated Kept so src/second-factor compiles unchanged; the policy is always `MFA_THROTTLE_POLICY`. */
export const ACCOUNT_THROTTLE: ThrottlePolicy = MFA_THROTTLE_POLICY;

/**
 * @deprecated The former check-then-count API, now a thin wrapper over src/mfa's `AttemptThrottle`
 * with `MFA_THROTTLE_POLICY` on the same PostgreSQL store, for the second-factor step until it calls
 * `AttemptThrottle.admit` before checking a code (which also closes the parallel-request race that
 * counting after the check leaves open). Keys `mfa:<account>` are stored as `mfa-account:<account>`.
 */
export class LoginThrottle {
  private readonly throttle: AttemptThrottle;

  constructor(dataSource: DataSource) {
    this.throttle = new AttemptThrottle(new PgLoginAttemptStore(dataSource), MFA_THROTTLE_POLICY);
  }

  /** Seconds until the first of these keys may try again, or 0. */
  async retryAfter(keys: readonly string[]): Promise<number> {
    const decisions = await Promise.all(keys.map((key) => this.throttle.peek(idOf(key))));
    return Math.max(0, ...decisions.map((decision) => (decision.allowed ? 0 : decision.retryAfterSeconds)));
  }

  /** Counts a failed attempt, even one that parallel failures already put in backoff (the policy argument is ignored). */
  async fail(key: string, _policy?: ThrottlePolicy): Promise<void> {
    await this.throttle.charge(idOf(key));
  }

  async succeed(key: string): Promise<void> {
    await this.throttle.reset(idOf(key));
  }
}

function idOf(key: string): string {
  return key.replace(/^mfa:/, '');
}
