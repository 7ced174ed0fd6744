import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { SqlExecutor } from '../database/affected-rows';
import type { SignInContext } from './sign-in-context';

/** A browser session as an administrator or the account holder sees it. */
export interface SessionRecord {
  readonly sessionId: string;
  readonly clientId: string;
  readonly signedInAt: string;
  readonly acr: string;
  readonly amr: readonly string[];
  readonly ip: string | null;
  readonly country: string | null;
  readonly userAgent: string | null;
  readonly deviceFingerprint: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
}

/** What an account's recent sessions say about where and on what it signs in (the local risk policy's input). */
export interface SignInHistory {
  readonly sessions: number;
  readonly countries: readonly string[];
  readonly devices: readonly string[];
}

export interface NewSessionRecord extends SignInContext {
  readonly sessionId: string;
  readonly tenantId: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly acr: string;
  readonly amr: readonly string[];
}

interface Row {
  session_id: string;
  client_id: string;
  signed_in_at: Date;
  acr: string;
  amr: string[];
  ip: string | null;
  country: string | null;
  user_agent: string | null;
  device_fingerprint: string | null;
  ended_at: Date | null;
  end_reason: string | null;
}

/** How far back the sign-in history reaches. */
export const HISTORY_DAYS = 90;

/** `auth_sessions`: each browser session's sign-in context, kept after oidc-provider's entry expires (migration 1100). */
@Injectable()
export class SessionRecordsRepository {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  /** Records a sign-in into a session (a second sign-in in the same browser session updates its context). */
  async record(session: NewSessionRecord): Promise<void> {
    await this.runtime.dataSource.query(
      `INSERT INTO auth_sessions (session_id, tenant_id, account_id, signed_in_at, acr, amr, client_id, ip, country, user_agent, device_fingerprint)
       VALUES ($1, $2, $3, clock_timestamp(), $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (session_id) DO UPDATE SET account_id = EXCLUDED.account_id, tenant_id = EXCLUDED.tenant_id,
         signed_in_at = EXCLUDED.signed_in_at, acr = EXCLUDED.acr, amr = EXCLUDED.amr, client_id = EXCLUDED.client_id,
         ip = EXCLUDED.ip, country = EXCLUDED.country, user_agent = EXCLUDED.user_agent,
         device_fingerprint = EXCLUDED.device_fingerprint, ended_at = NULL, end_reason = NULL`,
      [
        session.sessionId,
        session.tenantId,
        session.accountId,
        session.acr,
        [...session.amr],
        session.clientId,
        session.ip ?? null,
        session.country ?? null,
        session.userAgent?.slice(0, 1024) ?? null,
        session.deviceFingerprint ?? null,
      ],
    );
  }

  async history(accountId: string): Promise<SignInHistory> {
    const [row] = await this.runtime.dataSource.query<{ sessions: number; countries: string[]; devices: string[] }[]>(
      `SELECT count(*)::int AS sessions,
              coalesce(array_agg(DISTINCT country) FILTER (WHERE country IS NOT NULL), '{}') AS countries,
              coalesce(array_agg(DISTINCT device_fingerprint) FILTER (WHERE device_fingerprint IS NOT NULL), '{}') AS devices
       FROM auth_sessions WHERE account_id = $1 AND signed_in_at > now() - make_interval(days => $2)`,
      [accountId, HISTORY_DAYS],
    );
    return { sessions: row?.sessions ?? 0, countries: row?.countries ?? [], devices: row?.devices ?? [] };
  }

  /** The account's sessions in this tenant, newest first (at most 100). */
  async list(tenantId: string, accountId: string): Promise<SessionRecord[]> {
    const rows = await this.runtime.dataSource.query<Row[]>(
      `SELECT session_id, client_id, signed_in_at, acr, amr, host(ip) AS ip, country, user_agent, device_fingerprint, ended_at, end_reason
       FROM auth_sessions WHERE tenant_id = $1 AND account_id = $2 ORDER BY signed_in_at DESC LIMIT 100`,
      [tenantId, accountId],
    );
    return rows.map((row) => ({
      sessionId: row.session_id,
      clientId: row.client_id,
      signedInAt: row.signed_in_at.toISOString(),
      acr: row.acr,
      amr: row.amr,
      ip: row.ip,
      country: row.country,
      userAgent: row.user_agent,
      deviceFingerprint: row.device_fingerprint,
      endedAt: row.ended_at?.toISOString() ?? null,
      endReason: row.end_reason,
    }));
  }

  /** Marks sessions ended (one, or all of the account's with `sessionId` undefined); returns the ids it ended. */
  async end(executor: SqlExecutor, accountId: string, sessionId: string | undefined, reason: string): Promise<string[]> {
    // UPDATE … RETURNING through TypeORM's PostgreSQL driver answers [rows, rowCount].
    const [rows] = await executor.query<[{ session_id: string }[], number]>(
      `UPDATE auth_sessions SET ended_at = clock_timestamp(), end_reason = $3
       WHERE account_id = $1 AND ($2::text IS NULL OR session_id = $2) AND ended_at IS NULL RETURNING session_id`,
      [accountId, sessionId ?? null, reason.slice(0, 256)],
    );
    return rows.map((row) => row.session_id);
  }

  /** Marks one session ended by its id alone (RP-initiated logout, where the account is the session's). */
  async endById(executor: SqlExecutor, sessionId: string, reason: string): Promise<void> {
    await executor.query(
      'UPDATE auth_sessions SET ended_at = clock_timestamp(), end_reason = $2 WHERE session_id = $1 AND ended_at IS NULL',
      [sessionId, reason],
    );
  }

  /** Whether the session exists for this account in this tenant (ended or not). */
  async exists(executor: SqlExecutor, tenantId: string, accountId: string, sessionId: string): Promise<boolean> {
    const rows = await executor.query<unknown[]>(
      'SELECT 1 FROM auth_sessions WHERE tenant_id = $1 AND account_id = $2 AND session_id = $3',
      [tenantId, accountId, sessionId],
    );
    return rows.length > 0;
  }
}
