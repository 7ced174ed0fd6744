import { Module } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { Counter, Gauge } from 'prom-client';
import type { AuditConfig } from '../audit-service.config';
import { EncryptionServiceVault } from './encryption-service-vault';
import { LeasedKeyVault, SEALS_PER_LEASE } from './leased-key-vault';
import { PERSONAL_DATA_VAULT, type PersonalDataVault } from './personal-data-vault';
import { PersonalDataProtector } from './personal-data.protector';
import { SubjectShredListener } from './subject-shred.listener';

/**
 * The vault audit-service seals with: leased subject keys (LeasedKeyVault, with its metrics) unless
 * TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS is 0, then a call to encryption-service per batch.
 */
export function createPersonalDataVault({
  config,
  logger,
  metrics,
}: Pick<ServiceRuntime<AuditConfig>, 'config' | 'logger' | 'metrics'>): PersonalDataVault {
  const service = new EncryptionServiceVault({
    baseUrl: config.TRACEO_ENCRYPTION_URL,
    apiKey: config.TRACEO_ENCRYPTION_API_KEY,
    keyring: config.TRACEO_AUDIT_SUBJECT_KEYRING,
  });
  if (config.TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS === 0) return service;
  const dropped = new Counter({
    name: 'traceo_audit_subject_keys_dropped_total',
    help: 'Leased data-subject keys dropped (zeroed), by reason: shredded, expired, evicted, renewed, unheard, refused',
    labelNames: ['reason'],
    registers: [metrics],
  });
  const vault = new LeasedKeyVault({
    service,
    leaseSeconds: config.TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS,
    sealsPerLease: SEALS_PER_LEASE,
    maxLeases: config.TRACEO_AUDIT_SUBJECT_KEY_LEASES_MAX,
    logger,
    onDrop: (reason) => dropped.inc({ reason }),
  });
  new Gauge({
    name: 'traceo_audit_subject_keys_held',
    help: 'Data-subject keys leased from encryption-service and held in memory now',
    registers: [metrics],
    collect() {
      this.set(vault.held);
    },
  });
  return vault;
}

@Module({
  providers: [
    {
      provide: PERSONAL_DATA_VAULT,
      inject: [SERVICE_RUNTIME],
      useFactory: createPersonalDataVault,
    },
    PersonalDataProtector,
    SubjectShredListener,
  ],
  exports: [PersonalDataProtector, PERSONAL_DATA_VAULT],
})
export class PersonalDataModule {}
