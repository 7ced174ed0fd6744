import { Module } from '@nestjs/common';
import { RevokeSessionsUseCase } from './revoke-sessions.usecase';
import { SessionRecordsModule } from './session-records.module';
import { SessionRevokeMessageController } from './session-revoke.message.controller';
import { SessionsHttpController } from './sessions.http.controller';

/** An account's sessions: listing them, and ending one or all (the Kafka command and the incident-response routes). */
@Module({
  imports: [SessionRecordsModule],
  controllers: [SessionsHttpController, SessionRevokeMessageController],
  providers: [RevokeSessionsUseCase],
})
export class SessionsModule {}
