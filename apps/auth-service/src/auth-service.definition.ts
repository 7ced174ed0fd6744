import { baseConfigSchema, type ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';

export const authServiceDefinition: ServiceDefinition<typeof baseConfigSchema> = {
  name: 'auth-service',
  description: 'OAuth 2.1 / OpenID Connect provider: clients, users, MFA, sessions, token families, roles.',
  configSchema: baseConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
};
