// audit-service's append-side objects, wired the way AuditLogModule and PersonalDataModule wire them
// in production: the checkpoint key in the SoftHSM2 token (TRACEO_AUDIT_SIGNING_KEY_SOURCE=hsm), the
// CheckpointScheduler (every second, or every 10,000 records), and the PersonalDataProtector over the
// LeasedKeyVault (subject keys leased from a real encryption-service, dropped on its shred events) or,
// with sealing 'call', the EncryptionServiceVault calling it for every batch.
import { randomBytes } from 'node:crypto';
import { Pkcs11Ed25519Signer } from '@traceo/hsm';
import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { createLogger } from '@traceo/observability';
import { openServiceDatabase } from '@traceo/persistence';
import { assembleServiceRuntime, EventPublisher, loadConfig, type ServiceRuntime } from '@traceo/service-kit';
import { loadInfraEnv } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { HsmCheckpointSigner } from '../../apps/audit-service/src/audit-log/checkpoint-note';
import { CheckpointScheduler } from '../../apps/audit-service/src/audit-log/checkpoint.scheduler';
import { auditConfigSchema, type AuditConfig } from '../../apps/audit-service/src/audit-service.config';
import { AUDIT_MIGRATIONS } from '../../apps/audit-service/src/migrations/1764000000100-CreateAuditLog';
import { EncryptionServiceVault } from '../../apps/audit-service/src/personal-data/encryption-service-vault';
import { LeasedKeyVault, SEALS_PER_LEASE, type SubjectKeyService } from '../../apps/audit-service/src/personal-data/leased-key-vault';
import type { PersonalDataVault } from '../../apps/audit-service/src/personal-data/personal-data-vault';
import { PersonalDataProtector } from '../../apps/audit-service/src/personal-data/personal-data.protector';
import { SubjectShredListener } from '../../apps/audit-service/src/personal-data/subject-shred.listener';
import { ensureMonthlyPartitions } from '../../apps/audit-service/src/retention/audit-partitions';

/** The bench's own checkpoint key pair in the token (created there on first use, reused afterwards). */
const SIGNING_KEY_LABEL = 'traceo-bench-audit-checkpoint';

export interface BenchAuditRuntime {
  readonly dataSource: DataSource;
  readonly runtime: ServiceRuntime<AuditConfig>;
  readonly publisher: EventPublisher;
  readonly signer: HsmCheckpointSigner;
  readonly vault: PersonalDataVault;
  readonly personalData: PersonalDataProtector;
  /** A protector sealing one way or the other (the leasing vault and the calling one share the counters below). */
  personalDataFor(sealing: 'lease' | 'call'): PersonalDataProtector;
  /** Calls made to encryption-service to seal so far: encrypt batches (up to 1,000 fields) and lease calls. */
  sealingCalls(): number;
  /** A scheduler as the service runs it; call start() before appending and stop() after (it issues a last checkpoint). */
  newCheckpointScheduler(): { scheduler: CheckpointScheduler; start(): Promise<void>; stop(): Promise<void> };
  close(): Promise<void>;
}

export async function openBenchAuditRuntime(
  schema: string,
  encryption: { url: string; apiKey: string },
  poolSize = 10,
  kafkaNamespace = '',
  sealing: 'lease' | 'call' = 'lease',
): Promise<BenchAuditRuntime> {
  const infra = loadInfraEnv();
  // The PKCS#11 module reads SOFTHSM2_CONF itself when it is loaded.
  process.env.SOFTHSM2_CONF ??= infra.raw.SOFTHSM2_CONF;
  const dataSource = await openServiceDatabase({
    url: infra.databaseUrl,
    schema,
    applicationName: 'bench-audit',
    poolSize,
    migrations: [...MESSAGING_MIGRATIONS, ...AUDIT_MIGRATIONS],
  });
  await ensureMonthlyPartitions(dataSource, new Date(), new Date(Date.now() + 62 * 86_400_000));
  const config = loadConfig(auditConfigSchema, {
    TRACEO_HTTP_PORT: '1',
    TRACEO_API_KEYS: `bench:${randomBytes(24).toString('hex')}`,
    TRACEO_DATABASE_URL: infra.databaseUrl,
    TRACEO_DATABASE_SCHEMA: schema,
    TRACEO_DATABASE_POOL_SIZE: String(poolSize),
    TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TRACEO_KAFKA_NAMESPACE: kafkaNamespace,
    TRACEO_AUDIT_SIGNING_KEY_SOURCE: 'hsm',
    TRACEO_PKCS11_MODULE: infra.raw.TRACEO_PKCS11_MODULE,
    TRACEO_PKCS11_TOKEN_LABEL: infra.raw.TRACEO_PKCS11_TOKEN_LABEL,
    TRACEO_PKCS11_PIN: infra.raw.TRACEO_PKCS11_PIN,
    TRACEO_AUDIT_SIGNING_KEY_LABEL: SIGNING_KEY_LABEL,
    TRACEO_AUDIT_CURSOR_KEY: randomBytes(32).toString('base64'),
    TRACEO_ENCRYPTION_URL: encryption.url,
    TRACEO_ENCRYPTION_API_KEY: encryption.apiKey,
  });
  const runtime = assembleServiceRuntime('audit-service', config, { dataSource, logger: createLogger('bench-audit', 'silent') });
  const publisher = new EventPublisher(runtime);
  const signer = new HsmCheckpointSigner(
    Pkcs11Ed25519Signer.open(
      { modulePath: config.TRACEO_PKCS11_MODULE!, tokenLabel: config.TRACEO_PKCS11_TOKEN_LABEL!, pin: config.TRACEO_PKCS11_PIN! },
      config.TRACEO_AUDIT_SIGNING_KEY_LABEL,
    ),
  );
  let calls = 0;
  const service = new EncryptionServiceVault({
    baseUrl: config.TRACEO_ENCRYPTION_URL,
    apiKey: config.TRACEO_ENCRYPTION_API_KEY,
    keyring: config.TRACEO_AUDIT_SUBJECT_KEYRING,
  });
  const counted: SubjectKeyService = {
    keyring: service.keyring,
    seal: (tenant, requests) => {
      calls += Math.ceil(requests.length / 1000);
      return service.seal(tenant, requests);
    },
    lease: (...args) => {
      calls += 1;
      return service.lease(...args);
    },
    open: (tenant, sealed) => service.open(tenant, sealed),
  };
  const leased = new LeasedKeyVault({
    service: counted,
    leaseSeconds: config.TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS,
    sealsPerLease: SEALS_PER_LEASE,
    maxLeases: config.TRACEO_AUDIT_SUBJECT_KEY_LEASES_MAX,
    logger: runtime.logger,
  });
  const protectors = { lease: new PersonalDataProtector(leased), call: new PersonalDataProtector(counted) };
  const vault = sealing === 'lease' ? leased : counted;
  const shreds = new SubjectShredListener(runtime, leased);
  await shreds.onApplicationBootstrap();
  return {
    dataSource,
    runtime,
    publisher,
    signer,
    vault,
    personalData: protectors[sealing],
    personalDataFor: (how) => protectors[how],
    sealingCalls: () => calls,
    newCheckpointScheduler() {
      // The scheduler closes the signer at shutdown; the bench keeps one signer open for all runs.
      const scheduler = new CheckpointScheduler(
        runtime,
        { publicKeyRaw: signer.publicKeyRaw, keyId: signer.keyId, sign: (note) => signer.sign(note) },
        publisher,
      );
      return {
        scheduler,
        start: () => scheduler.onApplicationBootstrap(),
        stop: () => scheduler.beforeApplicationShutdown(),
      };
    },
    async close() {
      await shreds.onApplicationShutdown();
      signer.close();
      await dataSource.destroy();
    },
  };
}
