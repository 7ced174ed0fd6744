import { generateKeyPairSync } from 'node:crypto';
import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { createLogger } from '@traceo/observability';
import { openServiceDatabase } from '@traceo/persistence';
import { assembleServiceRuntime, EventPublisher, loadConfig, type ServiceRuntime } from '@traceo/service-kit';
import { createScratchSchema, loadInfraEnv } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { SoftwareCheckpointSigner, type CheckpointSigner } from '../src/audit-log/checkpoint-note';
import { registerSigningKey } from '../src/audit-log/checkpoints';
import { EncryptionServiceVault } from '../src/personal-data/encryption-service-vault';
import { PersonalDataProtector } from '../src/personal-data/personal-data.protector';
import { auditConfigSchema, type AuditConfig } from '../src/audit-service.config';
import { AUDIT_MIGRATIONS } from '../src/migrations/1764000000100-CreateAuditLog';

export interface AuditTestRuntime {
  readonly dataSource: DataSource;
  readonly runtime: ServiceRuntime<AuditConfig>;
  readonly publisher: EventPublisher;
  readonly signer: CheckpointSigner;
  /** The real protector; its encryption-service is not running in these tests, whose records carry no personal data. */
  readonly personalData: PersonalDataProtector;
  readonly schema: string;
  close(): Promise<void>;
}

/**
 * audit-service's runtime on a throwaway schema of the real PostgreSQL, with its migrations and a
 * fresh checkpoint-signing key. The outbox relay is never started: published events stay in the
 * outbox table, where tests read them.
 */
export async function openAuditTestRuntime(prefix: string): Promise<AuditTestRuntime> {
  const env = loadInfraEnv();
  const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  const scratch = await createScratchSchema(env.databaseUrl, prefix);
  const dataSource = await openServiceDatabase({
    url: env.databaseUrl,
    schema: scratch.schema,
    applicationName: prefix,
    migrations: [...MESSAGING_MIGRATIONS, ...AUDIT_MIGRATIONS],
  });
  const config = loadConfig(auditConfigSchema, {
    TRACEO_HTTP_PORT: '1',
    TRACEO_API_KEYS: 'test:not-used-by-this-test-000000000000000',
    TRACEO_DATABASE_URL: env.databaseUrl,
    TRACEO_KAFKA_BROKERS: env.kafkaBrokers.join(','),
    TRACEO_AUDIT_SIGNING_KEY_SOURCE: 'key-store',
    TRACEO_AUDIT_SIGNING_KEY: signingKey,
    TRACEO_ENCRYPTION_URL: 'http://127.0.0.1:9',
    TRACEO_ENCRYPTION_API_KEY: 'not-used-by-these-tests-000',
  });
  const runtime = assembleServiceRuntime('audit-service', config, { dataSource, logger: createLogger(prefix, 'silent') });
  const signer = new SoftwareCheckpointSigner(signingKey);
  await registerSigningKey(dataSource, signer);
  return {
    dataSource,
    runtime,
    publisher: new EventPublisher(runtime),
    signer,
    personalData: new PersonalDataProtector(
      new EncryptionServiceVault({
        baseUrl: config.TRACEO_ENCRYPTION_URL,
        apiKey: config.TRACEO_ENCRYPTION_API_KEY,
        keyring: config.TRACEO_AUDIT_SUBJECT_KEYRING,
      }),
    ),
    schema: scratch.schema,
    close: async () => {
      await dataSource.destroy();
      await scratch.drop();
    },
  };
}
