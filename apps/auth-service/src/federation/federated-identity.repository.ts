import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Role } from '@traceo/security';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { Account } from '../accounts/account.repository';

/** Not an argon2id PHC string: password sign-in to a federated account always fails (after the same dummy work). */
export const NO_LOCAL_PASSWORD = '!federated';

interface LinkedRow {
  account_id: string;
  tenant_id: string;
  username: string;
  roles: Role[];
  disabled: boolean;
}

/** A readable, unique local name for an upstream identity: `<idp>/<sub>`, or `<idp>/` and a hash when `sub` is not a plain lower-case name. */
export function federatedUsername(idpId: string, subject: string): string {
  if (/^[a-z0-9._@-]{1,180}$/.test(subject)) return `${idpId}/${subject}`;
  return `${idpId}/${createHash('sha256').update(subject, 'utf8').digest('base64url').slice(0, 32)}`;
}

/**
 * Upstream identities (tenant + issuer + `sub`) and the local accounts they sign in as. An identity
 * seen for the first time gets a new account (just-in-time) with the roles given; it is never linked
 * to an existing account by e-mail or name, which would let an upstream take over local accounts.
 */
@Injectable()
export class FederatedIdentityRepository {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async linkOrProvision(input: {
    tenantId: string;
    idpId: string;
    issuer: string;
    subject: string;
    roles: readonly Role[];
  }): Promise<{ account: Account; provisioned: boolean }> {
    const linked = await this.touch(input.tenantId, input.issuer, input.subject);
    if (linked) return { account: linked, provisioned: false };
    try {
      const account = await this.runtime.dataSource.transaction(async (manager) => {
        const accountId = randomUUID();
        const [row] = await manager.query<LinkedRow[]>(
          `INSERT INTO accounts (account_id, tenant_id, username, password_hash, roles) VALUES ($1, $2, $3, $4, $5)
           RETURNING account_id, tenant_id, username, roles, disabled`,
          [accountId, input.tenantId, federatedUsername(input.idpId, input.subject), NO_LOCAL_PASSWORD, input.roles],
        );
        await manager.query(
          'INSERT INTO federated_identities (tenant_id, issuer, subject, idp_id, account_id) VALUES ($1, $2, $3, $4, $5)',
          [input.tenantId, input.issuer, input.subject, input.idpId, accountId],
        );
        return toAccount(row!);
      });
      return { account, provisioned: true };
    } catch (error) {
      // Two first sign-ins of the same identity at once: the loser uses the winner's account.
      const raced =
        (error as { code?: string }).code === '23505' ? await this.touch(input.tenantId, input.issuer, input.subject) : undefined;
      if (raced) return { account: raced, provisioned: false };
      throw error;
    }
  }

  private async touch(tenantId: string, issuer: string, subject: string): Promise<Account | undefined> {
    const [row] = await this.runtime.dataSource.query<LinkedRow[]>(
      `WITH linked AS (
         UPDATE federated_identities SET last_sign_in_at = clock_timestamp()
         WHERE tenant_id = $1 AND issuer = $2 AND subject = $3 RETURNING account_id)
       SELECT a.account_id, a.tenant_id, a.username, a.roles, a.disabled FROM accounts a JOIN linked USING (account_id)`,
      [tenantId, issuer, subject],
    );
    return row ? toAccount(row) : undefined;
  }
}

function toAccount(row: LinkedRow): Account {
  return { accountId: row.account_id, tenantId: row.tenant_id, username: row.username, roles: row.roles, disabled: row.disabled };
}
