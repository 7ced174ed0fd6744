import { Injectable } from '@nestjs/common';
import { EventPublisher } from '@traceo/service-kit';
import type { FederationErrorCode } from './federation.errors';

export interface FederationAuditEntry {
  /** Unknown only when the callback's `state` matches no sign-in (the platform tenant then). */
  readonly tenantId?: string;
  readonly idpId?: string;
  readonly clientId?: string;
  readonly accountId?: string;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly details?: Record<string, unknown>;
}

/** Every federated sign-in attempt is one `auth.federated-sign-in` audit record: started, success or failure with its code. */
@Injectable()
export class FederationAudit {
  constructor(private readonly publisher: EventPublisher) {}

  started(entry: FederationAuditEntry): Promise<void> {
    return this.record(entry, 'auth.federated-sign-in.started', 'success', 'AUTH.FEDERATION_STARTED');
  }

  succeeded(entry: FederationAuditEntry): Promise<void> {
    return this.record(entry, 'auth.federated-sign-in', 'success', 'AUTH.SIGNED_IN');
  }

  failed(entry: FederationAuditEntry, code: FederationErrorCode): Promise<void> {
    return this.record(entry, 'auth.federated-sign-in', code === 'AUTH.ACCOUNT_DISABLED' ? 'denied' : 'failure', code);
  }

  private async record(
    entry: FederationAuditEntry,
    action: string,
    status: 'success' | 'failure' | 'denied',
    resultCode: string,
  ): Promise<void> {
    await this.publisher.audit(
      {
        actor: entry.accountId ? { type: 'user', id: entry.accountId } : { type: 'system', id: 'anonymous' },
        action,
        resource: { type: 'identity-provider', id: entry.idpId ?? 'unknown' },
        status,
        resultCode,
        ...(entry.accountId ? { subjectId: entry.accountId } : {}),
        ...(entry.ip ? { ip: entry.ip } : {}),
        ...(entry.userAgent ? { userAgent: entry.userAgent.slice(0, 1024) } : {}),
        details: { method: 'federated', ...(entry.clientId ? { clientId: entry.clientId } : {}), ...entry.details },
      },
      entry.tenantId ? { tenantId: entry.tenantId } : {},
    );
  }
}
