import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '@traceo/security';
import { SkipRateLimit } from '@traceo/service-kit';
import { GatewayEventsUseCase, type GatewayEventsReceipt } from './gateway-events.usecase';

/**
 * Kong's http-log plugin posts its batches of log entries here (kong/kong.yml), authenticated with an
 * API key of its own (role `service`, permission `risk:assess`: a signal source). Not rate-limited:
 * the gateway batches its own traffic (one call per second per worker at most, `max_coalescing_delay`),
 * and limiting it would lose the record of the very traffic limits are there to watch.
 */
@ApiTags('gateway')
@Controller('v1/risk/gateway-events')
export class GatewayEventsHttpController {
  constructor(private readonly gatewayEvents: GatewayEventsUseCase) {}

  @RequirePermissions('risk:assess')
  @SkipRateLimit()
  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({
    description:
      'The valid entries are published as traceo.gateway.request.v1 events (committed to the outbox before this answer); invalid entries are listed by index and dropped, the others kept',
  })
  @ApiBadRequestResponse({ description: 'RISK.INVALID_GATEWAY_BATCH: not a Kong log entry or a non-empty array of at most 1,000' })
  accept(@Body() body: unknown): Promise<GatewayEventsReceipt> {
    return this.gatewayEvents.accept(body);
  }
}
