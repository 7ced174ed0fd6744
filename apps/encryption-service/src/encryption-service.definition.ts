import type { ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';
import { encryptionConfigSchema } from './encryption-service.config';
import { ENCRYPTION_MIGRATIONS } from './migrations/1764000000300-CreateKeyrings';

export const encryptionServiceDefinition: ServiceDefinition<typeof encryptionConfigSchema> = {
  name: 'encryption-service',
  description: 'HSM-rooted envelope encryption, key rotation, post-quantum key wrapping, searchable encryption and crypto-shredding.',
  configSchema: encryptionConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
  migrations: ENCRYPTION_MIGRATIONS,
};
