import { baseConfigSchema, type ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';

export const encryptionServiceDefinition: ServiceDefinition<typeof baseConfigSchema> = {
  name: 'encryption-service',
  description: 'HSM-rooted envelope encryption, key rotation, post-quantum key wrapping, searchable encryption and crypto-shredding.',
  configSchema: baseConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
};
