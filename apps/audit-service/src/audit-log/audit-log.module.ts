import { Module } from '@nestjs/common';
import { PersonalDataModule } from '../personal-data/personal-data.module';
import { Pkcs11Ed25519Signer } from '@traceo/hsm';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuditConfig } from '../audit-service.config';
import { AppendAuditRecordsUseCase } from './append-audit-record.usecase';
import { AuditProofsHttpController } from './audit-proofs.http.controller';
import { AuditProofsUseCase } from './audit-proofs.usecase';
import { AuditRecordMessageController } from './audit-record.message.controller';
import { AuditRecordsHttpController } from './audit-records.http.controller';
import { HsmCheckpointSigner, SoftwareCheckpointSigner, type CheckpointSigner } from './checkpoint-note';
import { CHECKPOINT_SIGNER, CheckpointScheduler } from './checkpoint.scheduler';
import { ListAuditRecordsUseCase } from './list-audit-records.usecase';

@Module({
  imports: [PersonalDataModule],
  controllers: [AuditRecordsHttpController, AuditProofsHttpController, AuditRecordMessageController],
  providers: [
    AppendAuditRecordsUseCase,
    ListAuditRecordsUseCase,
    AuditProofsUseCase,
    CheckpointScheduler,
    {
      provide: CHECKPOINT_SIGNER,
      useFactory: ({ config }: ServiceRuntime<AuditConfig>): CheckpointSigner =>
        config.TRACEO_AUDIT_SIGNING_KEY_SOURCE === 'hsm'
          ? new HsmCheckpointSigner(
              Pkcs11Ed25519Signer.open(
                { modulePath: config.TRACEO_PKCS11_MODULE!, tokenLabel: config.TRACEO_PKCS11_TOKEN_LABEL!, pin: config.TRACEO_PKCS11_PIN! },
                config.TRACEO_AUDIT_SIGNING_KEY_LABEL,
              ),
            )
          : new SoftwareCheckpointSigner(config.TRACEO_AUDIT_SIGNING_KEY!),
      inject: [SERVICE_RUNTIME],
    },
  ],
})
export class AuditLogModule {}
