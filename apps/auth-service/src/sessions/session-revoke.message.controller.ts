import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { EventTypes, type TypedEvent } from '@traceo/contracts';
import { inboxManagerOf } from '@traceo/service-kit';
import { RevokeSessionsUseCase } from './revoke-sessions.usecase';

/** `traceo.auth.session-revoke.v1` commands, applied in the inbox transaction (exactly once per command). */
@Controller()
export class SessionRevokeMessageController {
  constructor(private readonly revoke: RevokeSessionsUseCase) {}

  @EventPattern(EventTypes.authSessionRevoke)
  async onSessionRevoke(@Payload() event: TypedEvent<'traceo.auth.session-revoke.v1'>, @Ctx() context: unknown): Promise<void> {
    const { accountId, sessionId, reason, requestedBy } = event.data;
    await this.revoke.execute({ tenantId: event.tenantid, accountId, sessionId, reason, requestedBy }, inboxManagerOf(context));
  }
}
