import { baseConfigSchema, type ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';
import { AUDIT_MIGRATIONS } from './migrations/1764000000100-CreateAuditRecords';

export const auditServiceDefinition: ServiceDefinition<typeof baseConfigSchema> = {
  name: 'audit-service',
  description: 'Tamper-evident audit log fed by every service through Kafka.',
  configSchema: baseConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
  migrations: AUDIT_MIGRATIONS,
};
