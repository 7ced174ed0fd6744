import { Inject, Injectable } from '@nestjs/common';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from '@traceo/hsm';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { affectedRows } from '../database/affected-rows';
import type { PendingTotpEnrollment, TotpAlgorithm, TotpEnrollment, TotpReplayStore } from '../mfa';

const factorAad = (accountId: string) => Buffer.from(`traceo-auth:totp-secret:${accountId}`, 'utf8');
const pendingAad = (accountId: string) => Buffer.from(`traceo-auth:totp-pending:${accountId}`, 'utf8');

interface FactorRow {
  account_id: string;
  secret_wrapped: Buffer;
  algorithm: TotpAlgorithm;
  digits: number;
  period: number;
}

/**
 * TOTP factors in PostgreSQL, secrets wrapped by the HSM KEK, and the replay store of src/mfa's
 * TotpVerifier (an atomic compare-and-set on `last_used_step`). The enrollment id is the account id:
 * one TOTP factor per account.
 */
@Injectable()
export class TotpFactorsRepository implements TotpReplayStore {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(KEY_ENCRYPTION_KEY) private readonly kek: KeyEncryptionKey,
  ) {}

  async find(accountId: string): Promise<TotpEnrollment | undefined> {
    const [row] = await this.runtime.dataSource.query<FactorRow[]>('SELECT * FROM totp_factors WHERE account_id = $1', [accountId]);
    if (!row) return undefined;
    const secret = this.kek.unwrap(row.secret_wrapped, factorAad(accountId)).toString('utf8');
    return { id: accountId, secret, parameters: { algorithm: row.algorithm, digits: row.digits, period: row.period } };
  }

  async savePending(accountId: string, pending: PendingTotpEnrollment): Promise<void> {
    await this.runtime.dataSource.query(
      `INSERT INTO totp_pending (account_id, secret_wrapped, kek_id, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (account_id) DO UPDATE SET secret_wrapped = EXCLUDED.secret_wrapped, kek_id = EXCLUDED.kek_id, expires_at = EXCLUDED.expires_at`,
      [accountId, this.kek.wrap(Buffer.from(pending.secret, 'utf8'), pendingAad(accountId)), this.kek.id, new Date(pending.expiresAt)],
    );
  }

  /** The pending enrollment's secret and expiry (Unix ms), if any. */
  async findPending(accountId: string): Promise<{ secret: string; expiresAt: number } | undefined> {
    const [row] = await this.runtime.dataSource.query<{ secret_wrapped: Buffer; expires_at: Date }[]>(
      'SELECT secret_wrapped, expires_at FROM totp_pending WHERE account_id = $1',
      [accountId],
    );
    if (!row) return undefined;
    return { secret: this.kek.unwrap(row.secret_wrapped, pendingAad(accountId)).toString('utf8'), expiresAt: row.expires_at.getTime() };
  }

  /** Activates the factor, seeded with the confirming code's step so that code cannot also be replayed. */
  async activate(accountId: string, secret: string, parameters: TotpEnrollment['parameters'], lastUsedStep: number): Promise<void> {
    await this.runtime.dataSource.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO totp_factors (account_id, secret_wrapped, kek_id, algorithm, digits, period, last_used_step) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          accountId,
          this.kek.wrap(Buffer.from(secret, 'utf8'), factorAad(accountId)),
          this.kek.id,
          parameters.algorithm,
          parameters.digits,
          parameters.period,
          lastUsedStep,
        ],
      );
      await manager.query('DELETE FROM totp_pending WHERE account_id = $1', [accountId]);
    });
  }

  async lastAcceptedStep(enrollmentId: string): Promise<number | null> {
    const [row] = await this.runtime.dataSource.query<{ last_used_step: string | null }[]>(
      'SELECT last_used_step FROM totp_factors WHERE account_id = $1',
      [enrollmentId],
    );
    return row?.last_used_step == null ? null : Number(row.last_used_step);
  }

  async advance(enrollmentId: string, step: number): Promise<boolean> {
    const changed = await affectedRows(
      this.runtime.dataSource,
      'UPDATE totp_factors SET last_used_step = $2 WHERE account_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)',
      [enrollmentId, step],
    );
    return changed === 1;
  }

  /** Records that the password step of this interaction succeeded for the account (10 minutes). */
  async rememberPasswordStep(uid: string, accountId: string): Promise<void> {
    await this.runtime.dataSource.query(
      `INSERT INTO mfa_pending_sign_ins (interaction_uid, account_id, expires_at) VALUES ($1, $2, now() + interval '10 minutes')
       ON CONFLICT (interaction_uid) DO UPDATE SET account_id = EXCLUDED.account_id, expires_at = EXCLUDED.expires_at`,
      [uid, accountId],
    );
  }

  async passwordStepOf(uid: string): Promise<string | undefined> {
    const [row] = await this.runtime.dataSource.query<{ account_id: string }[]>(
      'SELECT account_id FROM mfa_pending_sign_ins WHERE interaction_uid = $1 AND expires_at > now()',
      [uid],
    );
    return row?.account_id;
  }

  /** Marks the interaction's second factor done (its new recovery codes are being shown). */
  async markSecondFactorDone(uid: string): Promise<void> {
    await this.runtime.dataSource.query('UPDATE mfa_pending_sign_ins SET second_factor_at = now() WHERE interaction_uid = $1', [uid]);
  }

  /** The account whose password and second factor this interaction completed, if any. */
  async completedSecondFactorOf(uid: string): Promise<string | undefined> {
    const [row] = await this.runtime.dataSource.query<{ account_id: string }[]>(
      'SELECT account_id FROM mfa_pending_sign_ins WHERE interaction_uid = $1 AND expires_at > now() AND second_factor_at IS NOT NULL',
      [uid],
    );
    return row?.account_id;
  }

  async forgetPasswordStep(uid: string): Promise<void> {
    await this.runtime.dataSource.query('DELETE FROM mfa_pending_sign_ins WHERE interaction_uid = $1', [uid]);
  }
}
