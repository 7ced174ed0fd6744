import { Module } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuditConfig } from '../audit-service.config';
import { AppendAuditRecordsUseCase } from './append-audit-record.usecase';
import { AuditProofsHttpController } from './audit-proofs.http.controller';
import { AuditProofsUseCase } from './audit-proofs.usecase';
import { AuditRecordMessageController } from './audit-record.message.controller';
import { AuditRecordsHttpController } from './audit-records.http.controller';
import { CheckpointSigner } from './checkpoint-note';
import { CHECKPOINT_SIGNER, CheckpointScheduler } from './checkpoint.scheduler';
import { ListAuditRecordsUseCase } from './list-audit-records.usecase';

@Module({
  controllers: [AuditRecordsHttpController, AuditProofsHttpController, AuditRecordMessageController],
  providers: [
    AppendAuditRecordsUseCase,
    ListAuditRecordsUseCase,
    AuditProofsUseCase,
    CheckpointScheduler,
    {
      provide: CHECKPOINT_SIGNER,
      useFactory: (runtime: ServiceRuntime<AuditConfig>) => new CheckpointSigner(runtime.config.TRACEO_AUDIT_SIGNING_KEY),
      inject: [SERVICE_RUNTIME],
    },
  ],
})
export class AuditLogModule {}
