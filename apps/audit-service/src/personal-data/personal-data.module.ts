import { Module } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuditConfig } from '../audit-service.config';
import { EncryptionServiceVault } from './encryption-service-vault';
import { PERSONAL_DATA_VAULT } from './personal-data-vault';
import { PersonalDataProtector } from './personal-data.protector';

@Module({
  providers: [
    {
      provide: PERSONAL_DATA_VAULT,
      inject: [SERVICE_RUNTIME],
      useFactory: ({ config }: ServiceRuntime<AuditConfig>) =>
        new EncryptionServiceVault({
          baseUrl: config.TRACEO_ENCRYPTION_URL,
          apiKey: config.TRACEO_ENCRYPTION_API_KEY,
          keyring: config.TRACEO_AUDIT_SUBJECT_KEYRING,
        }),
    },
    PersonalDataProtector,
  ],
  exports: [PersonalDataProtector, PERSONAL_DATA_VAULT],
})
export class PersonalDataModule {}
