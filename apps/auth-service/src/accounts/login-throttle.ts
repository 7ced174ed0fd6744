import type { DataSource } from 'typeorm';

/**
 * Per-key backoff: after `threshold` consecutive failures the key is locked for `baseSeconds`,
 * doubling with every further failure up to `maxSeconds`. Failures older than `decaySeconds` no
 * longer count. Accounts: 5 failures, then 30 s doubling to 15 min. Client IPs: 20 failures, then
 * 60 s doubling to 1 h (an IP is shared by many people behind NAT, hence the higher threshold).
 */
export interface ThrottlePolicy {
  readonly threshold: number;
  readonly baseSeconds: number;
  readonly maxSeconds: number;
  readonly decaySeconds: number;
}

export const ACCOUNT_THROTTLE: ThrottlePolicy = Object.freeze({ threshold: 5, baseSeconds: 30, maxSeconds: 900, decaySeconds: 900 });
export const IP_THROTTLE: ThrottlePolicy = Object.freeze({ threshold: 20, baseSeconds: 60, maxSeconds: 3600, decaySeconds: 900 });

/** Seconds a key is locked after `failures` consecutive failures (0 below the threshold). */
export function lockSeconds(policy: ThrottlePolicy, failures: number): number {
  if (failures < policy.threshold) return 0;
  return Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.min(failures - policy.threshold, 20));
}

/** Consecutive sign-in failures per key (`account:<tenant>:<username>`, `ip:<address>`) in PostgreSQL, shared by every replica. */
export class LoginThrottle {
  constructor(private readonly dataSource: DataSource) {}

  /** Seconds until the first of these keys unlocks, or 0 when none is locked. */
  async retryAfter(keys: readonly string[]): Promise<number> {
    const [row] = await this.dataSource.query<{ seconds: number | null }[]>(
      `SELECT ceil(extract(epoch FROM max(locked_until) - now()))::integer AS seconds FROM login_throttle
       WHERE key = ANY($1) AND locked_until > now()`,
      [keys],
    );
    return Math.max(0, row?.seconds ?? 0);
  }

  /** Counts a failure for the key; returns the lock it now has, in seconds (0: not locked). */
  async fail(key: string, policy: ThrottlePolicy): Promise<number> {
    const [row] = await this.dataSource.query<{ failures: number }[]>(
      `INSERT INTO login_throttle AS t (key, failures, last_failure_at) VALUES ($1, 1, now())
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN t.last_failure_at < now() - make_interval(secs => $2) THEN 1 ELSE t.failures + 1 END,
         last_failure_at = now()
       RETURNING failures`,
      [key, policy.decaySeconds],
    );
    const seconds = lockSeconds(policy, row!.failures);
    if (seconds > 0)
      await this.dataSource.query('UPDATE login_throttle SET locked_until = now() + make_interval(secs => $2) WHERE key = $1', [
        key,
        seconds,
      ]);
    return seconds;
  }

  /** A successful sign-in clears the account's failures (never the IP's: one good account must not reset an attacker's count). */
  async succeed(key: string): Promise<void> {
    await this.dataSource.query('DELETE FROM login_throttle WHERE key = $1', [key]);
  }
}
