import { Inject, Injectable } from '@nestjs/common';
import type { TypedEvent } from '@traceo/contracts';
import { writeToOutboxIf } from '@traceo/messaging';
import { runPrepared } from '@traceo/persistence';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { EntityManager } from 'typeorm';
import type { KeyRef, WrappedDataKey } from './data-keys';
import type { Keyring, KeyringPolicy, KeyringPurpose, KeyringView, KeyVersion, KeyVersionState, KeyVersionView, Wrapping } from './keyring';

interface KeyringRow {
  tenant_id: string;
  keyring_id: string;
  purpose: KeyringPurpose;
  wrapping: Wrapping;
  pq_public_key: Buffer | null;
  pq_secret_key_wrapped: Buffer | null;
  rotation_period_seconds: number | null;
  max_encryptions_per_version: string;
  min_decryption_version: number;
  blind_index_token_bytes: number;
  created_at: Date;
  updated_at: Date;
}

interface KeyVersionRow {
  version: number;
  state: KeyVersionState;
  wrapping: Wrapping;
  wrapped_key: Buffer | null;
  kek_id: string;
}

interface KeyVersionStatsRow extends KeyVersionRow {
  created_at: Date;
  rotated_reason: string | null;
  encryptions: string;
  decryptions: string;
  rewrapped_away: string;
  last_used_at: Date | null;
  retired_at: Date | null;
  destroyed_at: Date | null;
}

export interface SubjectKeyRow {
  subject_id: string;
  state: 'active' | 'destroyed';
  wrapping: Wrapping;
  wrapped_key: Buffer | null;
  kek_id: string;
}

const KEYRING_COLUMNS = `tenant_id, keyring_id, purpose, wrapping, pq_public_key, pq_secret_key_wrapped, rotation_period_seconds,
  max_encryptions_per_version, min_decryption_version, blind_index_token_bytes, created_at, updated_at`;

function toKeyring(row: KeyringRow): Keyring {
  return {
    tenantId: row.tenant_id,
    keyringId: row.keyring_id,
    purpose: row.purpose,
    wrapping: row.wrapping,
    pqPublicKey: row.pq_public_key,
    pqSecretKeyWrapped: row.pq_secret_key_wrapped,
    rotationPeriodSeconds: row.rotation_period_seconds,
    maxEncryptionsPerVersion: Number(row.max_encryptions_per_version),
    minDecryptionVersion: row.min_decryption_version,
    blindIndexTokenBytes: row.blind_index_token_bytes,
  };
}

export function toKeyVersion(row: KeyVersionRow): KeyVersion {
  return { version: row.version, state: row.state, wrapping: row.wrapping, wrappedKey: row.wrapped_key, kekId: row.kek_id };
}

/** A key version's columns beside a keyring's, renamed where they clash; null when the join found none. */
/** KEYRING_COLUMNS qualified by the alias `k`, for joins. */
const KEYRING_COLUMNS_OF_K = KEYRING_COLUMNS.replace(/(\w+)/g, 'k.$1');
const VERSION_COLUMNS_AS_JOINED = 'v.version, v.state AS version_state, v.wrapping AS version_wrapping, v.wrapped_key, v.kek_id';

interface NullableVersionColumns {
  version: number | null;
  version_state: KeyVersionState | null;
  version_wrapping: Wrapping | null;
  wrapped_key: Buffer | null;
  kek_id: string | null;
}

function joinedVersion(row: NullableVersionColumns): KeyVersion | undefined {
  if (row.version === null || row.version_state === null || row.version_wrapping === null || row.kek_id === null) return undefined;
  return { version: row.version, state: row.version_state, wrapping: row.version_wrapping, wrappedKey: row.wrapped_key, kekId: row.kek_id };
}

/** A ciphertext header can name any uint32; versions are PostgreSQL integers, so larger ones cannot exist. */
function storableVersions(requested: readonly number[]): number[] {
  return requested.filter((v) => v <= 2 ** 31 - 1);
}

/** SQL for keyrings, key versions and subject keys; writes that belong to a transaction take its EntityManager. */
@Injectable()
export class KeyringRepository {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  private get db(): EntityManager {
    return this.runtime.dataSource.manager;
  }

  /** False when the keyring already exists. */
  async insertKeyring(
    manager: EntityManager,
    keyring: KeyringPolicy & Pick<Keyring, 'tenantId' | 'keyringId' | 'purpose' | 'pqPublicKey' | 'pqSecretKeyWrapped'>,
  ): Promise<boolean> {
    const rows = await manager.query<unknown[]>(
      `INSERT INTO keyrings (tenant_id, keyring_id, purpose, wrapping, pq_public_key, pq_secret_key_wrapped, rotation_period_seconds,
         max_encryptions_per_version, min_decryption_version, blind_index_token_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING keyring_id`,
      [
        keyring.tenantId,
        keyring.keyringId,
        keyring.purpose,
        keyring.wrapping,
        keyring.pqPublicKey,
        keyring.pqSecretKeyWrapped,
        keyring.rotationPeriodSeconds,
        keyring.maxEncryptionsPerVersion,
        keyring.minDecryptionVersion,
        keyring.blindIndexTokenBytes,
      ],
    );
    return rows.length === 1;
  }

  /** The keyring, locked against concurrent lifecycle changes until the transaction ends. */
  async lockKeyring(manager: EntityManager, tenantId: string, keyringId: string): Promise<Keyring | undefined> {
    const [row] = await manager.query<KeyringRow[]>(
      `SELECT ${KEYRING_COLUMNS} FROM keyrings WHERE tenant_id = $1 AND keyring_id = $2 FOR UPDATE`,
      [tenantId, keyringId],
    );
    return row && toKeyring(row);
  }

  async findKeyring(tenantId: string, keyringId: string, manager: EntityManager = this.db): Promise<Keyring | undefined> {
    const [row] = await manager.query<KeyringRow[]>(`SELECT ${KEYRING_COLUMNS} FROM keyrings WHERE tenant_id = $1 AND keyring_id = $2`, [
      tenantId,
      keyringId,
    ]);
    return row && toKeyring(row);
  }

  async updatePolicy(manager: EntityManager, keyring: Keyring): Promise<void> {
    await manager.query(
      `UPDATE keyrings SET wrapping = $3, pq_public_key = $4, pq_secret_key_wrapped = $5, rotation_period_seconds = $6,
         max_encryptions_per_version = $7, min_decryption_version = $8, updated_at = clock_timestamp()
       WHERE tenant_id = $1 AND keyring_id = $2`,
      [
        keyring.tenantId,
        keyring.keyringId,
        keyring.wrapping,
        keyring.pqPublicKey,
        keyring.pqSecretKeyWrapped,
        keyring.rotationPeriodSeconds,
        keyring.maxEncryptionsPerVersion,
        keyring.minDecryptionVersion,
      ],
    );
  }

  async versions(manager: EntityManager, tenantId: string, keyringId: string): Promise<KeyVersion[]> {
    const rows = await manager.query<KeyVersionRow[]>(
      `SELECT version, state, wrapping, wrapped_key, kek_id FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 ORDER BY version`,
      [tenantId, keyringId],
    );
    return rows.map(toKeyVersion);
  }

  /**
   * The keyring and, when it is a field keyring, `count` more encryptions counted under its active
   * version, in one statement (reserveEncryptions' limit applies; `reserved` is undefined when there
   * is no active version or the limit is reached). Other purposes are answered without reserving.
   */
  async findKeyringReserving(
    tenantId: string,
    keyringId: string,
    count: number,
  ): Promise<{ keyring: Keyring; reserved: KeyVersion | undefined } | undefined> {
    // Every encrypt call runs this (coalesced per keyring): a prepared statement, planned once per connection.
    const {
      rows: [row],
    } = await runPrepared<KeyringRow & NullableVersionColumns>(
      this.runtime.dataSource,
      `WITH k AS (SELECT ${KEYRING_COLUMNS} FROM keyrings WHERE tenant_id = $1 AND keyring_id = $2),
            r AS (UPDATE key_versions v SET encryptions = v.encryptions + $3, last_used_at = clock_timestamp()
                    FROM k
                   WHERE k.purpose = 'field' AND v.tenant_id = k.tenant_id AND v.keyring_id = k.keyring_id AND v.state = 'active'
                     AND v.encryptions + $3 <= k.max_encryptions_per_version
               RETURNING ${VERSION_COLUMNS_AS_JOINED})
       SELECT k.*, r.* FROM k LEFT JOIN r ON true`,
      [tenantId, keyringId, count],
    );
    return row && { keyring: toKeyring(row), reserved: joinedVersion(row) };
  }

  /**
   * Counts `count` encryptions already sealed under `version` and writes their audit record and key
   * event, in one statement, provided the version is still the field keyring's active one and stays
   * under the usage limit; otherwise nothing is counted or written and the answer is false (the
   * caller discards what it sealed). The check, the count and the records commit together.
   */
  async confirmEncryptions(
    tenantId: string,
    keyringId: string,
    version: number,
    count: number,
    events: readonly TypedEvent[],
  ): Promise<boolean> {
    return writeToOutboxIf(
      this.runtime.dataSource,
      `UPDATE key_versions v SET encryptions = v.encryptions + $8, last_used_at = clock_timestamp()
         FROM keyrings k
        WHERE k.tenant_id = $5 AND k.keyring_id = $6 AND k.purpose = 'field'
          AND v.tenant_id = k.tenant_id AND v.keyring_id = k.keyring_id AND v.version = $7 AND v.state = 'active'
          AND v.encryptions + $8 <= k.max_encryptions_per_version
        RETURNING 1`,
      [tenantId, keyringId, version, count],
      events,
    );
  }

  /** The keyring with the versions asked for (fresh: states change under rotation, retirement and destruction), in one query. */
  async findKeyringWithVersions(
    tenantId: string,
    keyringId: string,
    requested: readonly number[],
  ): Promise<{ keyring: Keyring; versions: Map<number, KeyVersion> } | undefined> {
    // Every decrypt call runs this: a prepared statement.
    const { rows } = await runPrepared<KeyringRow & NullableVersionColumns>(
      this.runtime.dataSource,
      `SELECT ${KEYRING_COLUMNS_OF_K}, ${VERSION_COLUMNS_AS_JOINED} FROM keyrings k
         LEFT JOIN key_versions v ON v.tenant_id = k.tenant_id AND v.keyring_id = k.keyring_id AND v.version = ANY($3::int[])
        WHERE k.tenant_id = $1 AND k.keyring_id = $2`,
      [tenantId, keyringId, storableVersions(requested)],
    );
    const [first] = rows;
    if (!first) return undefined;
    const versions = new Map<number, KeyVersion>();
    for (const row of rows) {
      const version = joinedVersion(row);
      if (version) versions.set(version.version, version);
    }
    return { keyring: toKeyring(first), versions };
  }

  /** Versions by number, fresh from the database (states change under rotation, retirement and destruction). */
  async findVersions(tenantId: string, keyringId: string, requested: readonly number[]): Promise<Map<number, KeyVersion>> {
    const rows = await this.db.query<KeyVersionRow[]>(
      `SELECT version, state, wrapping, wrapped_key, kek_id FROM key_versions
        WHERE tenant_id = $1 AND keyring_id = $2 AND version = ANY($3::int[])`,
      [tenantId, keyringId, storableVersions(requested)],
    );
    return new Map(rows.map((row) => [row.version, toKeyVersion(row)]));
  }

  /** Versions a token query must cover: every version whose key still exists, newest first. */
  async searchableVersions(tenantId: string, keyringId: string): Promise<KeyVersion[]> {
    const rows = await this.db.query<KeyVersionRow[]>(
      `SELECT version, state, wrapping, wrapped_key, kek_id FROM key_versions
        WHERE tenant_id = $1 AND keyring_id = $2 AND state IN ('active', 'decrypt-only') ORDER BY version DESC`,
      [tenantId, keyringId],
    );
    return rows.map(toKeyVersion);
  }

  async latestVersion(manager: EntityManager, tenantId: string, keyringId: string): Promise<number> {
    const [row] = await manager.query<{ version: number | null }[]>(
      'SELECT max(version) AS version FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2',
      [tenantId, keyringId],
    );
    return row?.version ?? 0;
  }

  async deactivateActiveVersion(manager: EntityManager, tenantId: string, keyringId: string): Promise<void> {
    await manager.query(`UPDATE key_versions SET state = 'decrypt-only' WHERE tenant_id = $1 AND keyring_id = $2 AND state = 'active'`, [
      tenantId,
      keyringId,
    ]);
  }

  async insertActiveVersion(manager: EntityManager, ref: KeyRef & { version: number }, key: WrappedDataKey, reason: string): Promise<void> {
    await manager.query(
      `INSERT INTO key_versions (tenant_id, keyring_id, version, state, wrapped_key, kek_id, wrapping, rotated_reason)
       VALUES ($1, $2, $3, 'active', $4, $5, $6, $7)`,
      [ref.tenantId, ref.keyringId, ref.version, key.wrappedKey, key.kekId, key.wrapping, reason],
    );
  }

  async replaceWrappedKey(
    manager: EntityManager,
    tenantId: string,
    keyringId: string,
    version: number,
    key: WrappedDataKey,
  ): Promise<void> {
    await manager.query(
      `UPDATE key_versions SET wrapped_key = $4, kek_id = $5, wrapping = $6 WHERE tenant_id = $1 AND keyring_id = $2 AND version = $3`,
      [tenantId, keyringId, version, key.wrappedKey, key.kekId, key.wrapping],
    );
  }

  async setVersionState(
    manager: EntityManager,
    tenantId: string,
    keyringId: string,
    version: number,
    state: 'retired' | 'destroyed',
  ): Promise<void> {
    const sql =
      state === 'retired'
        ? `UPDATE key_versions SET state = 'retired', retired_at = clock_timestamp() WHERE tenant_id = $1 AND keyring_id = $2 AND version = $3`
        : `UPDATE key_versions SET state = 'destroyed', wrapped_key = NULL, destroyed_at = clock_timestamp()
            WHERE tenant_id = $1 AND keyring_id = $2 AND version = $3`;
    await manager.query(sql, [tenantId, keyringId, version]);
  }

  /** Usage of one version, for the checks before retiring or destroying it. */
  async versionStats(manager: EntityManager, tenantId: string, keyringId: string, version: number): Promise<KeyVersionView | undefined> {
    const [row] = await manager.query<KeyVersionStatsRow[]>(
      `SELECT * FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 AND version = $3`,
      [tenantId, keyringId, version],
    );
    return row && toVersionView(row);
  }

  /**
   * Counts `count` more encryptions under the active version, unless that would pass the keyring's
   * per-version limit; undefined when there is no active version or the limit is reached.
   */
  async reserveEncryptions(tenantId: string, keyringId: string, count: number): Promise<KeyVersion | undefined> {
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const [rows] = await this.db.query<[KeyVersionRow[], number]>(
      `UPDATE key_versions v SET encryptions = v.encryptions + $3, last_used_at = clock_timestamp()
         FROM keyrings k
        WHERE v.tenant_id = $1 AND v.keyring_id = $2 AND v.state = 'active'
          AND k.tenant_id = v.tenant_id AND k.keyring_id = v.keyring_id
          AND v.encryptions + $3 <= k.max_encryptions_per_version
        RETURNING v.version, v.state, v.wrapping, v.wrapped_key, v.kek_id`,
      [tenantId, keyringId, count],
    );
    const [row] = rows;
    return row && toKeyVersion(row);
  }

  /** Adds decryptions and rewraps to the versions' counters (one statement for a whole batch). */
  async countUse(
    manager: EntityManager,
    tenantId: string,
    keyringId: string,
    uses: ReadonlyMap<number, { decryptions: number; rewrappedAway: number }>,
  ): Promise<void> {
    if (uses.size === 0) return;
    const versions = [...uses.keys()];
    // Every decrypt batch runs this: a prepared statement, in the caller's transaction when it has one.
    await runPrepared(
      manager.queryRunner ?? this.runtime.dataSource,
      `UPDATE key_versions v SET decryptions = v.decryptions + u.decryptions, rewrapped_away = v.rewrapped_away + u.rewrapped,
              last_used_at = clock_timestamp()
         FROM unnest($3::int[], $4::bigint[], $5::bigint[]) AS u(version, decryptions, rewrapped)
        WHERE v.tenant_id = $1 AND v.keyring_id = $2 AND v.version = u.version`,
      [tenantId, keyringId, versions, versions.map((v) => uses.get(v)!.decryptions), versions.map((v) => uses.get(v)!.rewrappedAway)],
    );
  }

  /** Keyrings whose active version is older than their rotation period, locked for this transaction (other replicas skip them). */
  async lockKeyringsDueForRotation(manager: EntityManager, limit: number): Promise<Keyring[]> {
    const rows = await manager.query<KeyringRow[]>(
      `SELECT ${KEYRING_COLUMNS_OF_K} FROM keyrings k
         JOIN key_versions v ON v.tenant_id = k.tenant_id AND v.keyring_id = k.keyring_id AND v.state = 'active'
        WHERE k.rotation_period_seconds IS NOT NULL
          AND v.created_at + make_interval(secs => k.rotation_period_seconds) <= clock_timestamp()
        ORDER BY v.created_at LIMIT $1
        FOR UPDATE OF k SKIP LOCKED`,
      [limit],
    );
    return rows.map(toKeyring);
  }

  async view(tenantId: string, keyringId: string): Promise<KeyringView | undefined> {
    const [row] = await this.db.query<KeyringRow[]>(`SELECT ${KEYRING_COLUMNS} FROM keyrings WHERE tenant_id = $1 AND keyring_id = $2`, [
      tenantId,
      keyringId,
    ]);
    if (!row) return undefined;
    const versions = await this.db.query<KeyVersionStatsRow[]>(
      `SELECT * FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 ORDER BY version`,
      [tenantId, keyringId],
    );
    return toView(row, versions.map(toVersionView));
  }

  async list(tenantId: string): Promise<KeyringView[]> {
    const rows = await this.db.query<KeyringRow[]>(`SELECT ${KEYRING_COLUMNS} FROM keyrings WHERE tenant_id = $1 ORDER BY keyring_id`, [
      tenantId,
    ]);
    const versions = await this.db.query<(KeyVersionStatsRow & { keyring_id: string })[]>(
      `SELECT * FROM key_versions WHERE tenant_id = $1 ORDER BY keyring_id, version`,
      [tenantId],
    );
    return rows.map((row) => toView(row, versions.filter((v) => v.keyring_id === row.keyring_id).map(toVersionView)));
  }

  // ---- subject keys -------------------------------------------------------------------------

  async findSubjectKeys(tenantId: string, keyringId: string, subjectIds: readonly string[]): Promise<Map<string, SubjectKeyRow>> {
    const rows = await this.db.query<SubjectKeyRow[]>(
      `SELECT subject_id, state, wrapping, wrapped_key, kek_id FROM subject_keys
        WHERE tenant_id = $1 AND keyring_id = $2 AND subject_id = ANY($3::text[])`,
      [tenantId, keyringId, subjectIds],
    );
    return new Map(rows.map((row) => [row.subject_id, row]));
  }

  /** Inserts keys for subjects that have none yet; existing rows (including destroyed ones) are left as they are. */
  async insertSubjectKeys(
    manager: EntityManager,
    tenantId: string,
    keyringId: string,
    keys: ReadonlyMap<string, WrappedDataKey>,
  ): Promise<void> {
    if (keys.size === 0) return;
    const subjects = [...keys.keys()];
    await manager.query(
      `INSERT INTO subject_keys (tenant_id, keyring_id, subject_id, state, wrapped_key, kek_id, wrapping)
       SELECT $1, $2, s.subject_id, 'active', s.wrapped_key, s.kek_id, s.wrapping
         FROM unnest($3::text[], $4::bytea[], $5::text[], $6::text[]) AS s(subject_id, wrapped_key, kek_id, wrapping)
       ON CONFLICT DO NOTHING`,
      [
        tenantId,
        keyringId,
        subjects,
        subjects.map((s) => keys.get(s)!.wrappedKey),
        subjects.map((s) => keys.get(s)!.kekId),
        subjects.map((s) => keys.get(s)!.wrapping),
      ],
    );
  }

  async countSubjectUse(
    manager: EntityManager,
    tenantId: string,
    keyringId: string,
    counts: ReadonlyMap<string, number>,
    column: 'encryptions' | 'decryptions',
  ): Promise<void> {
    if (counts.size === 0) return;
    const subjects = [...counts.keys()];
    await manager.query(
      `UPDATE subject_keys k SET ${column} = k.${column} + u.n, last_used_at = clock_timestamp()
         FROM unnest($3::text[], $4::bigint[]) AS u(subject_id, n)
        WHERE k.tenant_id = $1 AND k.keyring_id = $2 AND k.subject_id = u.subject_id`,
      [tenantId, keyringId, subjects, subjects.map((s) => counts.get(s)!)],
    );
  }

  /**
   * Erases a subject's key: the wrapped bytes are overwritten with NULL in the same statement that
   * marks it destroyed. Inserts a destroyed tombstone when the subject never had a key, so a later
   * encryption for that subject is refused too. Answers the previous state, if any.
   */
  async destroySubjectKey(
    manager: EntityManager,
    tenantId: string,
    keyringId: string,
    subjectId: string,
  ): Promise<'active' | 'destroyed' | 'none'> {
    const [previous] = await manager.query<{ state: 'active' | 'destroyed' }[]>(
      `SELECT state FROM subject_keys WHERE tenant_id = $1 AND keyring_id = $2 AND subject_id = $3 FOR UPDATE`,
      [tenantId, keyringId, subjectId],
    );
    if (previous) {
      await manager.query(
        `UPDATE subject_keys SET state = 'destroyed', wrapped_key = NULL, destroyed_at = coalesce(destroyed_at, clock_timestamp())
          WHERE tenant_id = $1 AND keyring_id = $2 AND subject_id = $3`,
        [tenantId, keyringId, subjectId],
      );
      return previous.state;
    }
    await manager.query(
      `INSERT INTO subject_keys (tenant_id, keyring_id, subject_id, state, wrapped_key, kek_id, wrapping, destroyed_at)
       VALUES ($1, $2, $3, 'destroyed', NULL, 'none', 'classic', clock_timestamp())`,
      [tenantId, keyringId, subjectId],
    );
    return 'none';
  }
}

function toVersionView(row: KeyVersionStatsRow): KeyVersionView {
  const encryptions = Number(row.encryptions);
  const rewrappedAway = Number(row.rewrapped_away);
  return {
    version: row.version,
    state: row.state,
    wrapping: row.wrapping,
    createdAt: row.created_at.toISOString(),
    rotatedReason: row.rotated_reason,
    encryptions,
    decryptions: Number(row.decryptions),
    rewrappedAway,
    outstanding: Math.max(0, encryptions - rewrappedAway),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    retiredAt: row.retired_at?.toISOString() ?? null,
    destroyedAt: row.destroyed_at?.toISOString() ?? null,
  };
}

function toView(row: KeyringRow, versions: KeyVersionView[]): KeyringView {
  const keyring = toKeyring(row);
  return {
    tenantId: keyring.tenantId,
    keyringId: keyring.keyringId,
    purpose: keyring.purpose,
    wrapping: keyring.wrapping,
    rotationPeriodSeconds: keyring.rotationPeriodSeconds,
    maxEncryptionsPerVersion: keyring.maxEncryptionsPerVersion,
    minDecryptionVersion: keyring.minDecryptionVersion,
    blindIndexTokenBytes: keyring.blindIndexTokenBytes,
    activeVersion: versions.find((v) => v.state === 'active')?.version ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    versions,
  };
}
