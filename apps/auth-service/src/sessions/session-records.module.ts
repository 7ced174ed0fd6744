import { Module } from '@nestjs/common';
import { SessionRecordsRepository } from './session-records.repository';

/** `auth_sessions`, shared by sign-in (recording), the risk policy (history) and session administration. */
@Module({ providers: [SessionRecordsRepository], exports: [SessionRecordsRepository] })
export class SessionRecordsModule {}
