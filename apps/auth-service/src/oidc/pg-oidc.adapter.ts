import { createHash } from 'node:crypto';
import { runPrepared } from '@traceo/persistence';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { DataSource } from 'typeorm';
import { affectedRows, type SqlExecutor } from '../database/affected-rows';

/** The detail oidc-provider itself gives when a used code or refresh token comes back (docs/auth.md, reuse detection). */
export const REUSE_DETAILS: Readonly<Record<string, string>> = {
  AuthorizationCode: 'authorization code already consumed',
  RefreshToken: 'refresh token already used',
};

/**
 * Models looked up only by their id: the id is stored as a hash. Sessions and device codes are also
 * found by `uid` / user code and keep their `jti` (the session cookie is additionally signed).
 */
const HASH_ONLY: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
  'PushedAuthorizationRequest',
  'Grant',
  'Interaction',
  'BackchannelAuthenticationRequest',
  'ReplayDetection',
]);

const idHash = (id: string): Buffer => createHash('sha256').update(id, 'utf8').digest();

interface Row {
  payload: AdapterPayload;
}

const UPSERT = `INSERT INTO oidc_models (model, id_hash, payload, grant_id, uid, user_code, expires_at, consumed_at, account_id, session_uid)
  VALUES ($1, $2, $3::jsonb, $4, $5, $6, CASE WHEN $7::integer IS NULL THEN NULL ELSE now() + make_interval(secs => $7::integer) END, NULL, $8, $9)
  ON CONFLICT (model, id_hash) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, uid = EXCLUDED.uid,
    user_code = EXCLUDED.user_code, expires_at = EXCLUDED.expires_at, account_id = EXCLUDED.account_id, session_uid = EXCLUDED.session_uid`;
const FIND = `SELECT payload, payload ? 'jti' AS has_jti FROM oidc_models
  WHERE model = $1 AND id_hash = $2 AND (expires_at IS NULL OR expires_at > now())`;
const CONSUME = `UPDATE oidc_models SET consumed_at = now(), payload = payload || jsonb_build_object('consumed', extract(epoch FROM now())::bigint)
  WHERE model = $1 AND id_hash = $2 AND consumed_at IS NULL`;

/**
 * oidc-provider's storage for one model in PostgreSQL (`oidc_models`). Rows are keyed by the SHA-256
 * of the id and the payload's `jti` (the same value) is not stored, so the table holds no usable code,
 * refresh token or session id. Expired rows are invisible to `find` and purged by `purgeExpired`.
 * The statements of every token request (find, upsert, consume) are prepared statements.
 */
export class PgOidcAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly dataSource: DataSource,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const { jti, ...stored } = payload;
    const body = HASH_ONLY.has(this.model) && jti === id ? stored : payload;
    await runPrepared(this.dataSource, UPSERT, [
      this.model,
      idHash(id),
      JSON.stringify(body),
      payload.grantId ?? null,
      payload.uid ?? null,
      payload.userCode ?? null,
      typeof expiresIn === 'number' ? Math.ceil(expiresIn) : null,
      payload.accountId ?? null,
      payload.sessionUid ?? null,
    ]);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const { rows } = await runPrepared<Row & { has_jti: boolean }>(this.dataSource, FIND, [this.model, idHash(id)]);
    const row = rows[0];
    if (!row) return undefined;
    return row.has_jti || !HASH_ONLY.has(this.model) ? row.payload : { ...row.payload, jti: id };
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findBy('uid', uid);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findBy('user_code', userCode);
  }

  /**
   * Marks a code or refresh token used. Only one request can: when a concurrent request consumed it
   * between this request's `find` and now, it is a replay, so the whole grant (every code, token and
   * the grant itself) is revoked and this request gets `invalid_grant`, as oidc-provider does for a
   * replay it sees itself.
   */
  async consume(id: string): Promise<void> {
    const { rowCount: consumed } = await runPrepared(this.dataSource, CONSUME, [this.model, idHash(id)]);
    if (consumed > 0) return;
    const [existing] = await this.dataSource.query<{ grant_id: string | null }[]>(
      'SELECT grant_id FROM oidc_models WHERE model = $1 AND id_hash = $2',
      [this.model, idHash(id)],
    );
    if (existing?.grant_id) await revokeGrantFamily(this.dataSource, existing.grant_id);
    throw new errors.InvalidGrant(REUSE_DETAILS[this.model] ?? `${this.model} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    await this.dataSource.query('DELETE FROM oidc_models WHERE model = $1 AND id_hash = $2', [this.model, idHash(id)]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.dataSource.query('DELETE FROM oidc_models WHERE model = $1 AND grant_id = $2', [this.model, grantId]);
  }

  private async findBy(column: 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT payload FROM oidc_models WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
      [this.model, value],
    );
    // These lookups serve sessions and device codes, whose ids are not recoverable from the row; they keep their jti.
    return rows[0]?.payload;
  }
}

/** Deletes every code, token and session-bound entry issued under a grant, and the grant itself; returns how many rows. */
export async function revokeGrantFamily(executor: SqlExecutor, grantId: string): Promise<number> {
  return affectedRows(executor, `DELETE FROM oidc_models WHERE grant_id = $1 OR (model = 'Grant' AND id_hash = $2)`, [
    grantId,
    idHash(grantId),
  ]);
}

/** Deletes every session, grant, code and stored token of an account; returns how many rows. */
export async function revokeAccountEntries(executor: SqlExecutor, accountId: string): Promise<number> {
  return affectedRows(executor, 'DELETE FROM oidc_models WHERE account_id = $1', [accountId]);
}

/**
 * Ends one browser session: deletes its session entry and every grant (token family: refresh tokens,
 * codes, the grant) issued through it; returns how many rows. oidc-provider keeps grants per session
 * (`session.authorizations[clientId].grantId`), so the account's other sessions keep theirs.
 */
export async function revokeSessionEntries(executor: SqlExecutor, sessionUid: string): Promise<number> {
  return affectedRows(
    executor,
    `DELETE FROM oidc_models m
     WHERE (m.model = 'Session' AND m.uid = $1) OR m.session_uid = $1
        OR m.grant_id IN (SELECT grant_id FROM oidc_models WHERE session_uid = $1 AND grant_id IS NOT NULL)
        OR (m.model = 'Grant' AND m.id_hash IN (
              SELECT sha256(convert_to(grant_id, 'UTF8')) FROM oidc_models WHERE session_uid = $1 AND grant_id IS NOT NULL))`,
    [sessionUid],
  );
}

/** Deletes rows that expired more than a minute ago, at most `limit` per call; returns how many. */
export async function purgeExpiredOidcModels(dataSource: DataSource, limit = 1000): Promise<number> {
  return affectedRows(
    dataSource,
    `DELETE FROM oidc_models WHERE ctid IN (SELECT ctid FROM oidc_models WHERE expires_at < now() - interval '1 minute' LIMIT $1)`,
    [limit],
  );
}
