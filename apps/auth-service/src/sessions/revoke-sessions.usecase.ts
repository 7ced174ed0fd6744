import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type AuditEntry, type ServiceRuntime } from '@traceo/service-kit';
import type { EntityManager } from 'typeorm';
import { revokeAccountEntries } from '../oidc/pg-oidc.adapter';
import { AccountNotFoundError } from './session.errors';

export interface RevokeSessions {
  readonly tenantId: string;
  readonly accountId: string;
  readonly reason: string;
  readonly requestedBy: AuditEntry['actor'];
}

/**
 * Ends every browser session of an account and revokes every grant issued to it (refresh tokens,
 * codes), with the audit record in the same transaction. Access tokens already issued stay valid
 * until they expire (at most 15 minutes). Used by the `traceo.auth.session-revoke.v1` command and by
 * `POST …/accounts/:accountId/sessions/revoke`.
 */
@Injectable()
export class RevokeSessionsUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
  ) {}

  /** Returns the number of provider entries removed. With `manager`, runs inside the caller's transaction. */
  async execute(command: RevokeSessions, manager?: EntityManager): Promise<number> {
    const run = async (tx: EntityManager): Promise<number> => {
      const [account] = await tx.query<unknown[]>('SELECT 1 FROM accounts WHERE account_id = $1 AND tenant_id = $2', [
        command.accountId,
        command.tenantId,
      ]);
      if (!account) throw new AccountNotFoundError('no such account in this tenant');
      const revokedEntries = await revokeAccountEntries(tx, command.accountId);
      await this.publisher.audit(
        {
          actor: command.requestedBy,
          action: 'auth.sessions.revoked',
          resource: { type: 'account', id: command.accountId },
          subjectId: command.accountId,
          status: 'success',
          details: { reason: command.reason, revokedEntries },
        },
        { tenantId: command.tenantId, manager: tx },
      );
      return revokedEntries;
    };
    return manager ? run(manager) : this.runtime.dataSource.transaction(run);
  }
}
