import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type AuditEntry, type ServiceRuntime } from '@traceo/service-kit';
import type { EntityManager } from 'typeorm';
import { revokeAccountEntries, revokeSessionEntries } from '../oidc/pg-oidc.adapter';
import { SessionRecordsRepository } from './session-records.repository';
import { AccountNotFoundError, SessionNotFoundError } from './session.errors';

export interface RevokeSessions {
  readonly tenantId: string;
  readonly accountId: string;
  /** One session of the account; absent: every session. */
  readonly sessionId?: string | undefined;
  readonly reason: string;
  readonly requestedBy: AuditEntry['actor'];
}

export interface RevokedSessions {
  /** Provider entries removed (sessions, grants, codes, refresh tokens). */
  readonly revokedEntries: number;
  /** Recorded sessions marked ended by this command. */
  readonly endedSessions: readonly string[];
}

/**
 * Ends every browser session of an account and revokes every grant issued to it (refresh tokens,
 * codes) — or, with `sessionId`, that one session and the grants issued through it — with the audit
 * record in the same transaction. Access tokens already issued stay valid until they expire (at most
 * 15 minutes). Used by the `traceo.auth.session-revoke.v1` command and the incident-response routes.
 */
@Injectable()
export class RevokeSessionsUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
    private readonly sessions: SessionRecordsRepository,
  ) {}

  /** With `manager`, runs inside the caller's transaction. */
  async execute(command: RevokeSessions, manager?: EntityManager): Promise<RevokedSessions> {
    const run = async (tx: EntityManager): Promise<RevokedSessions> => {
      const [account] = await tx.query<unknown[]>('SELECT 1 FROM accounts WHERE account_id = $1 AND tenant_id = $2', [
        command.accountId,
        command.tenantId,
      ]);
      if (!account) throw new AccountNotFoundError('no such account in this tenant');
      const { sessionId } = command;
      if (sessionId !== undefined && !(await this.sessions.exists(tx, command.tenantId, command.accountId, sessionId)))
        throw new SessionNotFoundError('no such session of this account');
      const revokedEntries =
        sessionId === undefined ? await revokeAccountEntries(tx, command.accountId) : await revokeSessionEntries(tx, sessionId);
      const endedSessions = await this.sessions.end(tx, command.accountId, sessionId, command.reason);
      await this.publisher.audit(
        {
          actor: command.requestedBy,
          action: 'auth.sessions.revoked',
          resource: sessionId === undefined ? { type: 'account', id: command.accountId } : { type: 'session', id: sessionId },
          subjectId: command.accountId,
          ...(sessionId === undefined ? {} : { sessionId }),
          status: 'success',
          details: { reason: command.reason, scope: sessionId === undefined ? 'account' : 'session', revokedEntries, endedSessions },
        },
        { tenantId: command.tenantId, manager: tx },
      );
      return { revokedEntries, endedSessions };
    };
    return manager ? run(manager) : this.runtime.dataSource.transaction(run);
  }
}
