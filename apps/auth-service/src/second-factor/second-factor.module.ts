import { Module } from '@nestjs/common';
import { RecoveryCodesRepository } from './recovery-codes.repository';
import { RecoveryCodesHttpController } from './recovery-codes.http.controller';
import { RegenerateRecoveryCodesUseCase } from './regenerate-recovery-codes.usecase';

/** Self-service second-factor routes (the sign-in step itself lives with the interactions in OidcModule). */
@Module({ controllers: [RecoveryCodesHttpController], providers: [RegenerateRecoveryCodesUseCase, RecoveryCodesRepository] })
export class SecondFactorModule {}
