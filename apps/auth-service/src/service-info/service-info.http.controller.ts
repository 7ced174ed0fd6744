import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import * as jose from 'jose';
import Provider from 'oidc-provider';
import * as openidClient from 'openid-client';

/** What this service is, and proof that its ES-module-only protocol libraries load in this CommonJS build. */
@ApiTags('service')
@Public()
@Controller('v1/auth')
export class ServiceInfoHttpController {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  @Get('info')
  @ApiOkResponse({ description: 'Service name, API version, runtime and protocol libraries' })
  info() {
    return {
      service: this.runtime.name,
      apiVersion: 'v1',
      description: 'OAuth 2.1 / OpenID Connect provider: clients, users, MFA, sessions, token families, roles.',
      runtime: { node: process.versions.node, openssl: process.versions.openssl },
      esmLibraries: {
        'oidc-provider': typeof Provider === 'function',
        'openid-client': typeof openidClient.discovery === 'function',
        jose: typeof jose.SignJWT === 'function',
      },
    };
  }
}
