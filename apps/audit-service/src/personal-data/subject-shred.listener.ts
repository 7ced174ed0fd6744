import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EventTypes } from '@traceo/contracts';
import { KafkaBroadcastListener } from '@traceo/messaging';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuditConfig } from '../audit-service.config';
import { LeasedKeyVault } from './leased-key-vault';
import { PERSONAL_DATA_VAULT, type PersonalDataVault } from './personal-data-vault';

/**
 * With leased subject keys: reads traceo.crypto.subject-shredded.v1 in this replica (every replica
 * reads every event), drops the shredded subject's key, and tells the vault whether shreds are being
 * seen, so no key is held while they might be missed. Also drops keys whose lease ended.
 */
@Injectable()
export class SubjectShredListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly listener: KafkaBroadcastListener<'traceo.crypto.subject-shredded.v1'> | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime<AuditConfig>, @Inject(PERSONAL_DATA_VAULT) vault: PersonalDataVault) {
    if (!(vault instanceof LeasedKeyVault)) return;
    this.listener = new KafkaBroadcastListener({
      kafka: runtime.kafka,
      type: EventTypes.cryptoSubjectShredded,
      groupPrefix: `${runtime.name}.subject-shredded`,
      onEvent: (event) => vault.forget(event.tenantid, event.data.keyringId, event.data.subjectId),
      onListeningChange: (listening) => vault.setListening(listening),
      logger: runtime.logger,
    });
    this.sweeper = setInterval(() => vault.sweep(), 5_000).unref();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.listener?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.listener?.stop();
  }
}
