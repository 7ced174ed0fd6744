import { Inject, Injectable } from '@nestjs/common';
import type { Permission } from '@traceo/security';
import { EventPublisher, SERVICE_RUNTIME, type AuditEntry, type ServiceRuntime } from '@traceo/service-kit';
import type { EntityManager } from 'typeorm';
import { RevokeSessionsUseCase } from '../sessions/revoke-sessions.usecase';
import { AccountNotFoundError } from '../sessions/session.errors';
import { assertNotSelf, currentCaller, type Caller } from './account-admin.policy';
import { AccountAdminRepository, type AccountView, type LockedAccount } from './account-admin.repository';
import { AccountAdminRefusal } from './accounts-admin.errors';

export type Actor = AuditEntry['actor'];

/** One administration request on one account of a tenant. */
export interface AccountCommand {
  readonly tenantId: string;
  readonly accountId: string;
  /** Why (a ticket, an incident): kept in the audit record. */
  readonly reason: string;
  /** `tenantId` is the token's (`*` for platform-wide tokens). */
  readonly caller: Caller & { readonly tenantId: string; readonly actor: Actor };
}

export interface AccountChangeResult {
  readonly account: AccountView;
  /** False when the account already was as asked (nothing written, nothing audited). */
  readonly changed: boolean;
  /** Sessions, grants, codes and refresh tokens removed. */
  readonly revokedEntries: number;
}

/**
 * The frame every administration change runs in: the self-change rule, one transaction holding the
 * account's row lock (and, in the platform tenant, the platform-admins'), 404 for an account not in
 * the tenant, a calling account checked against its current state and roles (not only its token's),
 * the account as it is after the change. A refusal of the rules is audited as `denied`
 * (outside the rolled-back transaction) before it reaches the caller.
 */
@Injectable()
export class AccountChanges {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly accounts: AccountAdminRepository,
    private readonly publisher: EventPublisher,
    private readonly sessions: RevokeSessionsUseCase,
  ) {}

  async run(
    command: AccountCommand,
    action: string,
    permission: Permission,
    change: (tx: EntityManager, locked: LockedAccount, caller: Caller) => Promise<{ changed: boolean; revokedEntries: number }>,
  ): Promise<AccountChangeResult> {
    try {
      assertNotSelf(command.caller, command.accountId);
      return await this.runtime.dataSource.transaction(async (tx) => {
        const locked = await this.accounts.lock(tx, command.tenantId, command.accountId);
        if (!locked) throw new AccountNotFoundError('no such account in this tenant');
        const { caller } = command;
        const current =
          caller.actor.type === 'user'
            ? currentCaller(caller, await this.accounts.callerState(tx, caller.tenantId, caller.subject), permission)
            : caller;
        const outcome = await change(tx, locked, current);
        const account = await this.accounts.find(tx, command.tenantId, command.accountId);
        return { ...outcome, account: account! };
      });
    } catch (error) {
      if (error instanceof AccountAdminRefusal)
        await this.publisher.audit(
          {
            actor: command.caller.actor,
            action,
            resource: { type: 'account', id: command.accountId },
            subjectId: command.accountId,
            status: 'denied',
            resultCode: error.code,
            details: { reason: command.reason },
          },
          { tenantId: command.tenantId },
        );
      throw error;
    }
  }

  /** Ends the account's sessions and revokes its grants and refresh tokens, audited, in `tx`. */
  async endSessions(tx: EntityManager, command: AccountCommand, why: string): Promise<number> {
    const revoked = await this.sessions.execute(
      { tenantId: command.tenantId, accountId: command.accountId, reason: `${why}: ${command.reason}`, requestedBy: command.caller.actor },
      tx,
    );
    return revoked.revokedEntries;
  }

  /** The audit record of a change, in the change's transaction. */
  audit(tx: EntityManager, command: AccountCommand, entry: Pick<AuditEntry, 'action' | 'before' | 'after' | 'details'>): Promise<void> {
    return this.publisher.audit(
      {
        actor: command.caller.actor,
        resource: { type: 'account', id: command.accountId },
        subjectId: command.accountId,
        status: 'success',
        ...entry,
        details: { reason: command.reason, ...entry.details },
      },
      { tenantId: command.tenantId, manager: tx },
    );
  }
}
