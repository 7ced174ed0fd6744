import { Module } from '@nestjs/common';
import { RevokeSessionsUseCase } from './revoke-sessions.usecase';
import { SessionRevokeMessageController } from './session-revoke.message.controller';
import { SessionsHttpController } from './sessions.http.controller';

/** Ending an account's sessions: the Kafka command and the incident-response route. */
@Module({ controllers: [SessionsHttpController, SessionRevokeMessageController], providers: [RevokeSessionsUseCase] })
export class SessionsModule {}
