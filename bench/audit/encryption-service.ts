// The real encryption-service that seals the bench's personal fields: dist/apps/encryption-service
// (node tools/build.mjs apps/encryption-service), started as its own process with the environment the
// e2e tests give it (e2e/src/services.ts): KEK in SoftHSM2, PostgreSQL and Kafka of tools/infra, its
// own schema, consumer group, port (44xx) and API key. Its log goes to a file, so the bench does not
// spend the shared cores reading a pipe.
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadInfraEnv, pkcs11Env, WORKSPACE_ROOT } from '@traceo/testing';
import { freePortFrom, startBuiltService } from '../built-service';
import { benchNamespace } from '../kafka-namespace';

export interface BenchEncryptionService {
  readonly pid: number;
  readonly url: string;
  readonly apiKey: string;
  readonly schema: string;
  /** When dist/apps/encryption-service/main.js was built. */
  readonly builtAt: Date;
  log(): string;
  /** SIGTERM, then SIGKILL after 20 s; drops the schema unless it is kept for reuse. */
  stop(options?: { dropSchema?: boolean }): Promise<void>;
}

const MAIN = join(WORKSPACE_ROOT, 'dist', 'apps', 'encryption-service', 'main.js');

/** `cpuProfileDir`: the service writes a V8 CPU profile there when it stops (node --cpu-prof). */
export async function startEncryptionService(schema: string, run: string, cpuProfileDir?: string): Promise<BenchEncryptionService> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run node tools/build.mjs apps/encryption-service`);
  const infra = loadInfraEnv();
  const port = await freePortFrom(4470);
  const apiKey = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    TRACEO_HTTP_PORT: String(port),
    TRACEO_DATABASE_URL: infra.databaseUrl,
    TRACEO_DATABASE_SCHEMA: schema,
    TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TRACEO_KAFKA_CONSUMER_GROUP: `bench-audit-encryption-${run}`,
    TRACEO_KAFKA_NAMESPACE: benchNamespace(run),
    TRACEO_LOG_LEVEL: 'warn',
    // An interim API key: role `service`, which may provision subject keyrings and use keys.
    TRACEO_API_KEYS: `bench-audit:${apiKey}`,
    // The bench's audit pipeline leases subject keys, as audit-service does.
    TRACEO_SUBJECT_KEY_LEASE_CLIENTS: 'bench-audit',
    // The bench measures sealing, not the request rate limiter (where the build has one).
    TRACEO_RATE_LIMIT_ENABLED: 'false',
    ...pkcs11Env(),
  };
  const service = await startBuiltService({
    name: 'encryption-service',
    main: MAIN,
    port,
    env,
    logDirPrefix: 'bench-audit-encryption-',
    logFileName: 'encryption-service.log',
    schema,
    kafkaNamespace: benchNamespace(run),
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
  });
  return { ...service, apiKey, schema, builtAt: statSync(MAIN).mtime };
}
