import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { DataKeys } from './data-keys';
import { SYSTEM_ACTOR, type KeyringView } from './keyring';
import { KeyringExistsError } from './keyring.errors';
import { KeyringRepository } from './keyring.repository';

/** A new keyring with version 1 of its data key: 32 random bytes, stored only wrapped by the HSM. */
@Injectable()
export class CreateKeyringUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
    private readonly keyrings: KeyringRepository,
    private readonly dataKeys: DataKeys,
  ) {}

  async execute(tenantId: string, keyringId: string): Promise<KeyringView> {
    const wrapped = this.dataKeys.create({ tenantId, keyringId, version: 1 });
    return this.runtime.dataSource.transaction(async (manager) => {
      if (!(await this.keyrings.insertKeyring(manager, tenantId, keyringId))) {
        throw new KeyringExistsError('a keyring with this id already exists for the tenant');
      }
      await this.keyrings.insertActiveVersion(manager, tenantId, keyringId, 1, wrapped);
      await this.publisher.audit(
        {
          actor: SYSTEM_ACTOR,
          action: 'crypto.keyring-created',
          resource: { type: 'keyring', id: keyringId },
          status: 'success',
          keyVersion: '1',
          details: { kekId: wrapped.kekId },
        },
        { tenantId, manager },
      );
      return { tenantId, keyringId, activeVersion: 1 };
    });
  }
}
