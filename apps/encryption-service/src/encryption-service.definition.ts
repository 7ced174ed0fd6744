import type { ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';
import { encryptionConfigSchema } from './encryption-service.config';
import { ENCRYPTION_MIGRATIONS } from './migrations';

export const ENCRYPTION_JSON_BODY_LIMIT = '8mb';

export const encryptionServiceDefinition: ServiceDefinition<typeof encryptionConfigSchema> = {
  name: 'encryption-service',
  description: 'HSM-rooted envelope encryption, key rotation, post-quantum key wrapping, searchable encryption and crypto-shredding.',
  configSchema: encryptionConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
  migrations: ENCRYPTION_MIGRATIONS,
  // A full batch: 1,000 fields of up to 64 KiB would be 64 MiB; 8 MiB bounds memory per request. See docs/encryption.md.
  jsonBodyLimit: ENCRYPTION_JSON_BODY_LIMIT,
};
