import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';

/** What this service is and which version of the API it serves. */
@ApiTags('service')
@Public()
@Controller('v1/audit')
export class ServiceInfoHttpController {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  @Get('info')
  @ApiOkResponse({ description: 'Service name, API version and description' })
  info(): { service: string; apiVersion: string; description: string } {
    return { service: this.runtime.name, apiVersion: 'v1', description: 'Tamper-evident audit log fed by every service through Kafka.' };
  }
}
