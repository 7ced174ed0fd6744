import { Module } from '@nestjs/common';
import { ExpirePartitionsUseCase } from './expire-partitions.usecase';
import { LegalHoldsHttpController } from './legal-holds.http.controller';
import { LegalHoldsUseCase } from './legal-holds.usecase';
import { RetentionScheduler } from './retention.scheduler';

@Module({
  controllers: [LegalHoldsHttpController],
  providers: [ExpirePartitionsUseCase, LegalHoldsUseCase, RetentionScheduler],
})
export class RetentionModule {}
