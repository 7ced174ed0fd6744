import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { runPrepared } from '@traceo/persistence';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { Role } from '@traceo/security';
import { PasswordHasher } from '../mfa';

const passwords = new PasswordHasher();

export interface Account {
  readonly accountId: string;
  readonly tenantId: string;
  readonly username: string;
  readonly roles: readonly Role[];
  readonly disabled: boolean;
}

interface AccountRow {
  account_id: string;
  tenant_id: string;
  username: string;
  roles: Role[];
  disabled: boolean;
  password_hash: string;
}

const toAccount = (row: AccountRow): Account => ({
  accountId: row.account_id,
  tenantId: row.tenant_id,
  username: row.username,
  roles: row.roles,
  disabled: row.disabled,
});

/** Usernames compare case-insensitively and without surrounding spaces. */
export const normaliseUsername = (username: string): string => username.trim().normalize('NFC').toLowerCase();

/** Local accounts. Every lookup by name is scoped to a tenant: the same name in two tenants is two people. */
@Injectable()
export class AccountRepository {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async create(input: { tenantId: string; username: string; password: string; roles: readonly Role[] }): Promise<Account> {
    const accountId = randomUUID();
    const passwordHash = await passwords.hash(input.password);
    const [row] = await this.runtime.dataSource.query<AccountRow[]>(
      `INSERT INTO accounts (account_id, tenant_id, username, password_hash, roles) VALUES ($1, $2, $3, $4, $5)
       RETURNING account_id, tenant_id, username, roles, disabled, password_hash`,
      [accountId, input.tenantId, normaliseUsername(input.username), passwordHash, input.roles],
    );
    return toAccount(row!);
  }

  async findById(accountId: string): Promise<Account | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(accountId)) return undefined;
    // Every code and refresh grant loads its account: a prepared statement, with its columns named.
    const { rows } = await runPrepared<AccountRow>(
      this.runtime.dataSource,
      'SELECT account_id, tenant_id, username, roles, disabled, password_hash FROM accounts WHERE account_id = $1',
      [accountId],
    );
    return rows[0] ? toAccount(rows[0]) : undefined;
  }

  /** The account and its password hash, for sign-in only. */
  async findForSignIn(tenantId: string, username: string): Promise<(Account & { passwordHash: string }) | undefined> {
    const [row] = await this.runtime.dataSource.query<AccountRow[]>('SELECT * FROM accounts WHERE tenant_id = $1 AND username = $2', [
      tenantId,
      normaliseUsername(username),
    ]);
    return row ? { ...toAccount(row), passwordHash: row.password_hash } : undefined;
  }

  async updatePasswordHash(accountId: string, passwordHash: string): Promise<void> {
    await this.runtime.dataSource.query('UPDATE accounts SET password_hash = $2, updated_at = clock_timestamp() WHERE account_id = $1', [
      accountId,
      passwordHash,
    ]);
  }
}
