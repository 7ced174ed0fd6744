import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { DataKeys } from './data-keys';
import { KeyEvents } from './key-events';
import type { Actor } from './keyring';
import { KeyringNotFoundError, KeyringPurposeMismatchError } from './keyring.errors';
import { KeyringRepository } from './keyring.repository';

export interface ShredResult {
  subjectId: string;
  shredded: true;
  /** False when the subject's key was already destroyed (shredding is idempotent and irreversible). */
  keyExisted: boolean;
  alreadyShredded: boolean;
}

/**
 * Crypto-shredding: erases a data subject's key, so everything sealed under it is unrecoverable.
 * The wrapped key bytes are overwritten with NULL in the transaction that writes the audit record;
 * a subject that never had a key gets a destroyed tombstone, so nothing can be sealed for it later.
 * The same transaction publishes traceo.crypto.subject-shredded.v1, on which holders of subject-key
 * leases (audit-service) drop the subject's key.
 * There is no undo. (Backups taken before the shred still hold the wrapped key until they expire:
 * see docs/encryption.md.)
 */
@Injectable()
export class ShredSubject {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly keyrings: KeyringRepository,
    private readonly dataKeys: DataKeys,
    private readonly events: KeyEvents,
    private readonly publisher: EventPublisher,
  ) {}

  async execute(tenantId: string, keyringId: string, subjectId: string, actor: Actor): Promise<ShredResult> {
    const previous = await this.runtime.dataSource.transaction(async (manager) => {
      const keyring = await this.keyrings.lockKeyring(manager, tenantId, keyringId);
      if (!keyring) throw new KeyringNotFoundError('no such keyring');
      if (keyring.purpose !== 'subject') throw new KeyringPurposeMismatchError('only subject keyrings hold per-subject keys');
      const state = await this.keyrings.destroySubjectKey(manager, tenantId, keyringId, subjectId);
      await this.events.record(
        {
          tenantId,
          actor,
          action: 'crypto.subject-shredded',
          keyringId,
          purpose: 'subject',
          keyVersions: [],
          fields: 0,
          subjects: 1,
          details: { previousState: state },
        },
        manager,
      );
      const shredded = this.publisher.event('traceo.crypto.subject-shredded.v1', tenantId, {
        occurredAt: new Date().toISOString(),
        keyringId,
        subjectId,
      });
      await this.publisher.publish([shredded], manager);
      return state;
    });
    this.dataKeys.clear();
    this.runtime.relay.notify();
    return { subjectId, shredded: true, keyExisted: previous === 'active', alreadyShredded: previous === 'destroyed' };
  }
}
