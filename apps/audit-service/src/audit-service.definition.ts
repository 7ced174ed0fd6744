import type { ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';
import { auditConfigSchema } from './audit-service.config';
import { AUDIT_MIGRATIONS } from './migrations/1764000000100-CreateAuditLog';

export const auditServiceDefinition: ServiceDefinition<typeof auditConfigSchema> = {
  name: 'audit-service',
  description: 'Tamper-evident audit log fed by every service through Kafka: per-tenant RFC 6962 Merkle trees, signed checkpoints, proofs.',
  configSchema: auditConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
  migrations: AUDIT_MIGRATIONS,
  // Every service's audit records arrive here: fetch the next batches while appending (docs/audit.md).
  pipelinedInbox: true,
};
