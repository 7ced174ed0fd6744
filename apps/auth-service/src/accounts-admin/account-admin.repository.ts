import { Injectable } from '@nestjs/common';
import { PLATFORM_TENANT } from '@traceo/contracts';
import type { Role } from '@traceo/security';
import type { EntityManager } from 'typeorm';
import { affectedRows, type SqlExecutor } from '../database/affected-rows';

/** An account as the administration API shows it. */
export interface AccountView {
  readonly accountId: string;
  readonly tenantId: string;
  readonly username: string;
  readonly roles: readonly Role[];
  readonly disabled: boolean;
  /** Whether the account has a confirmed TOTP factor. */
  readonly totpEnrolled: boolean;
  readonly unusedRecoveryCodes: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The locked row of the account being changed, and how many other enabled platform-admins its tenant has. */
export interface LockedAccount {
  readonly roles: Role[];
  readonly disabled: boolean;
  readonly otherActivePlatformAdmins: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface LockedRow {
  account_id: string;
  roles: Role[];
  disabled: boolean;
}

interface ViewRow {
  account_id: string;
  tenant_id: string;
  username: string;
  roles: Role[];
  disabled: boolean;
  totp_enrolled: boolean;
  unused_recovery_codes: number;
  created_at: Date;
  updated_at: Date;
}

/**
 * SQL of the administration API. Every statement names the tenant: an account id of another tenant
 * matches nothing. Writes take the caller's transaction.
 */
@Injectable()
export class AccountAdminRepository {
  /**
   * Locks the account for the rest of the transaction. In the platform tenant it also locks every
   * platform-admin account, in one statement and in account-id order (so two such transactions
   * cannot deadlock), so two administrators demoting each other at once cannot both pass the
   * last-admin check: the second sees the first's change once it may proceed.
   */
  async lock(tx: EntityManager, tenantId: string, accountId: string): Promise<LockedAccount | undefined> {
    const rows = await tx.query<LockedRow[]>(
      `SELECT account_id, roles, disabled FROM accounts
        WHERE tenant_id = $1 AND (account_id = $2 OR ($3 AND 'platform-admin' = ANY (roles)))
        ORDER BY account_id FOR UPDATE`,
      [tenantId, accountId, tenantId === PLATFORM_TENANT],
    );
    const target = rows.find((row) => row.account_id === accountId);
    if (!target) return undefined;
    const others = rows.filter((row) => row.account_id !== accountId && !row.disabled && row.roles.includes('platform-admin'));
    return { roles: target.roles, disabled: target.disabled, otherActivePlatformAdmins: others.length };
  }

  /** The calling account's current roles and state (read without a lock: its own changes commit before or after). */
  async callerState(tx: EntityManager, tenantId: string, accountId: string): Promise<{ roles: Role[]; disabled: boolean } | undefined> {
    if (!UUID.test(accountId)) return undefined;
    const [row] = await tx.query<LockedRow[]>('SELECT account_id, roles, disabled FROM accounts WHERE tenant_id = $1 AND account_id = $2', [
      tenantId,
      accountId,
    ]);
    return row ? { roles: row.roles, disabled: row.disabled } : undefined;
  }

  async setRoles(tx: EntityManager, tenantId: string, accountId: string, roles: readonly Role[]): Promise<void> {
    await this.updateOne(tx, 'UPDATE accounts SET roles = $3, updated_at = clock_timestamp() WHERE tenant_id = $1 AND account_id = $2', [
      tenantId,
      accountId,
      roles,
    ]);
  }

  async setDisabled(tx: EntityManager, tenantId: string, accountId: string, disabled: boolean): Promise<void> {
    await this.updateOne(tx, 'UPDATE accounts SET disabled = $3, updated_at = clock_timestamp() WHERE tenant_id = $1 AND account_id = $2', [
      tenantId,
      accountId,
      disabled,
    ]);
  }

  /**
   * Removes the account's TOTP factor, a pending enrollment, its recovery codes and any sign-in
   * waiting for its second factor, so the next sign-in starts over and enrolls a new factor.
   */
  async deleteSecondFactor(
    tx: EntityManager,
    tenantId: string,
    accountId: string,
  ): Promise<{ totpRemoved: boolean; recoveryCodesRemoved: number }> {
    const ofAccount = 'USING accounts a WHERE t.account_id = a.account_id AND a.tenant_id = $1 AND a.account_id = $2';
    const params = [tenantId, accountId];
    const totp = await affectedRows(tx, `DELETE FROM totp_factors t ${ofAccount}`, params);
    await affectedRows(tx, `DELETE FROM totp_pending t ${ofAccount}`, params);
    const recoveryCodesRemoved = await affectedRows(tx, `DELETE FROM recovery_codes t ${ofAccount}`, params);
    await affectedRows(tx, `DELETE FROM mfa_pending_sign_ins t ${ofAccount}`, params);
    return { totpRemoved: totp > 0, recoveryCodesRemoved };
  }

  async find(executor: SqlExecutor, tenantId: string, accountId: string): Promise<AccountView | undefined> {
    const [row] = await executor.query<ViewRow[]>(
      `SELECT a.account_id, a.tenant_id, a.username, a.roles, a.disabled, a.created_at, a.updated_at,
              EXISTS (SELECT 1 FROM totp_factors f WHERE f.account_id = a.account_id) AS totp_enrolled,
              (SELECT count(*)::int FROM recovery_codes r WHERE r.account_id = a.account_id AND r.used_at IS NULL) AS unused_recovery_codes
         FROM accounts a WHERE a.tenant_id = $1 AND a.account_id = $2`,
      [tenantId, accountId],
    );
    if (!row) return undefined;
    return {
      accountId: row.account_id,
      tenantId: row.tenant_id,
      username: row.username,
      roles: row.roles,
      disabled: row.disabled,
      totpEnrolled: row.totp_enrolled,
      unusedRecoveryCodes: row.unused_recovery_codes,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }

  private async updateOne(tx: EntityManager, sql: string, params: unknown[]): Promise<void> {
    const changed = await affectedRows(tx, sql, params);
    // The row is locked by lock(): anything else is a bug, and the transaction must not commit.
    if (changed !== 1) throw new Error(`expected to update one account, updated ${changed}`);
  }
}
