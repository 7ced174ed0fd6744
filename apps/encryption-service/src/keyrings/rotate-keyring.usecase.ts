import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { DataKeys } from './data-keys';
import { SYSTEM_ACTOR, type KeyringView } from './keyring';
import { KeyringNotFoundError } from './keyring.errors';
import { KeyringRepository } from './keyring.repository';

/** A new active data-key version; the previous versions stay, decrypt-only, so old ciphertexts still open. */
@Injectable()
export class RotateKeyringUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
    private readonly keyrings: KeyringRepository,
    private readonly dataKeys: DataKeys,
  ) {}

  async execute(tenantId: string, keyringId: string): Promise<KeyringView> {
    return this.runtime.dataSource.transaction(async (manager) => {
      if (!(await this.keyrings.lockKeyring(manager, tenantId, keyringId))) throw new KeyringNotFoundError('no such keyring');
      const version = (await this.keyrings.latestVersion(manager, tenantId, keyringId)) + 1;
      const wrapped = this.dataKeys.create({ tenantId, keyringId, version });
      await this.keyrings.deactivateVersions(manager, tenantId, keyringId);
      await this.keyrings.insertActiveVersion(manager, tenantId, keyringId, version, wrapped);
      await this.publisher.audit(
        {
          actor: SYSTEM_ACTOR,
          action: 'crypto.key-rotated',
          resource: { type: 'keyring', id: keyringId },
          status: 'success',
          keyVersion: String(version),
          details: { kekId: wrapped.kekId, previousVersion: version - 1 },
        },
        { tenantId, manager },
      );
      return { tenantId, keyringId, activeVersion: version };
    });
  }
}
