import { Injectable } from '@nestjs/common';
import type { CryptoKeyEventV1 } from '@traceo/contracts';
import { EventPublisher } from '@traceo/service-kit';
import type { TypedEvent } from '@traceo/contracts';
import type { EntityManager } from 'typeorm';
import { Coalescer } from './coalescer';
import type { Actor, KeyringPurpose } from './keyring';

export interface KeyEvent {
  tenantId: string;
  actor: Actor;
  action: CryptoKeyEventV1['action'];
  keyringId: string;
  purpose: KeyringPurpose;
  keyVersions: readonly number[];
  /** Fields (or keys, for lifecycle changes) the call covered. */
  fields: number;
  subjects?: number;
  /** Failures by code; empty for a call that fully succeeded. */
  failures?: ReadonlyMap<string, number>;
  reason?: string;
  /** Extra facts for the audit record only (never data, tokens or key material). */
  details?: Record<string, unknown>;
}

/**
 * Every key use and lifecycle change leaves two records, written together through the outbox: an
 * audit record (traceo.audit.record.v1: who, which keyring and versions, how many fields, outcome)
 * and a crypto key event (traceo.crypto.key-event.v1) for risk detection. Neither ever carries
 * plaintext, ciphertext, tokens or key bytes.
 *
 * Records of calls outside a transaction (field encryption, decryption, rewrap) are group-committed:
 * those of concurrent calls share one outbox transaction, and each call still returns only once its
 * records are committed.
 */
@Injectable()
export class KeyEvents {
  private readonly outbox = new Coalescer<readonly TypedEvent[], void>(async (_key, batches) => {
    await this.publisher.publish(batches.flat());
    return batches.map(() => undefined);
  });

  constructor(private readonly publisher: EventPublisher) {}

  /** The audit record and the key event of one use or change, for a caller that writes them itself. */
  build(event: KeyEvent): [TypedEvent, TypedEvent] {
    const failures = event.failures ?? new Map<string, number>();
    const failed = [...failures.values()].reduce((sum, n) => sum + n, 0);
    const status = failed === 0 ? 'success' : failed >= event.fields ? 'failure' : 'partial';
    const keyVersions = [...new Set(event.keyVersions)].sort((a, b) => a - b);
    const occurredAt = new Date().toISOString();
    const failureCounts = failed === 0 ? undefined : Object.fromEntries(failures);
    const audit = this.publisher.event('traceo.audit.record.v1', event.tenantId, {
      occurredAt,
      actor: event.actor,
      action: event.action,
      resource: { type: 'keyring', id: event.keyringId },
      status: status === 'success' ? 'success' : 'failure',
      ...(failed === 0 ? {} : { resultCode: [...failures.keys()][0] }),
      ...(keyVersions.length > 0 ? { keyVersion: keyVersions.join(',').slice(0, 128) } : {}),
      details: {
        purpose: event.purpose,
        fields: event.fields,
        outcome: status,
        ...(failureCounts ? { failures: failureCounts } : {}),
        ...(event.subjects === undefined ? {} : { subjects: event.subjects }),
        ...(event.reason ? { reason: event.reason } : {}),
        ...event.details,
      },
    });
    const keyEvent = this.publisher.event('traceo.crypto.key-event.v1', event.tenantId, {
      occurredAt,
      action: event.action,
      actor: event.actor,
      keyringId: event.keyringId,
      purpose: event.purpose,
      keyVersions: keyVersions.slice(0, 1000),
      fields: event.fields,
      ...(event.subjects === undefined ? {} : { subjects: event.subjects }),
      status,
      ...(failureCounts ? { failures: failureCounts } : {}),
      ...(event.reason ? { reason: event.reason } : {}),
    });
    return [audit, keyEvent];
  }

  async record(event: KeyEvent, manager?: EntityManager): Promise<void> {
    const [audit, keyEvent] = this.build(event);
    if (manager) await this.publisher.publish([audit, keyEvent], manager);
    else await this.outbox.submit('outbox', [audit, keyEvent]);
  }
}
