import { Module } from '@nestjs/common';
import { SessionRecordsModule } from '../sessions/session-records.module';
import { RiskDecisions } from './risk-decisions';

/** Risk decisions before tokens are issued (Kafka request-reply to the risk service, local fallback). */
@Module({ imports: [SessionRecordsModule], providers: [RiskDecisions], exports: [RiskDecisions] })
export class RiskModule {}
