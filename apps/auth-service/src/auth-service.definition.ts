import type { ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';
import { authConfigSchema } from './auth-service.config';
import { AUTH_MIGRATIONS } from './migrations';

export const authServiceDefinition: ServiceDefinition<typeof authConfigSchema> = {
  name: 'auth-service',
  description: 'OAuth 2.1 / OpenID Connect provider: clients, users, MFA, sessions, token families, roles.',
  configSchema: authConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
  migrations: AUTH_MIGRATIONS,
  // oidc-provider reads its endpoints' bodies itself and answers others with invalid_request (audited).
  ownBodyPaths: ['/oidc'],
};
