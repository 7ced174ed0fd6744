import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { Public, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';

/** What this service is, and proof that the ES-module-only post-quantum library loads in this CommonJS build. */
@ApiTags('service')
@Public()
@Controller('v1/encryption')
export class ServiceInfoHttpController {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  @Get('info')
  @ApiOkResponse({ description: 'Service name, API version, runtime and crypto libraries' })
  info() {
    return {
      service: this.runtime.name,
      apiVersion: 'v1',
      description: 'HSM-rooted envelope encryption, key rotation, post-quantum key wrapping, searchable encryption and crypto-shredding.',
      runtime: { node: process.versions.node, openssl: process.versions.openssl },
      esmLibraries: { '@noble/post-quantum': typeof ml_kem768_x25519.encapsulate === 'function' },
    };
  }
}
