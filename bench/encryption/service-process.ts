// The real encryption-service for the bench: built by tools/build.mjs, started as its own Node process
// with the environment the e2e tests give it (e2e/src/services.ts: KEK in SoftHSM2, real PostgreSQL
// and Kafka), on a schema and consumer group of its own. Its log goes to a file, not through a pipe
// to the bench, so the bench process does not spend the shared cores reading it.
import { randomBytes } from 'node:crypto';
import { loadInfraEnv, pkcs11Env, TestTokenIssuer } from '@traceo/testing';
import { buildServiceMain, startBuiltService } from '../built-service';
import { benchNamespace } from '../kafka-namespace';

export const API_KEY = randomBytes(24).toString('hex');

export interface ServiceOptions {
  readonly port: number;
  readonly run: string;
  readonly logLevel: string;
  /** Writes a V8 CPU profile of the service (node --cpu-prof) into this directory on exit. */
  readonly cpuProfileDir?: string;
  /** The built service's main.js (buildService, or a copy of another build to compare builds). */
  readonly main: string;
}

/**
 * The bench's token issuer (TEST ONLY, standing in for auth-service): creating a keyring needs a
 * key-admin token; encrypt and decrypt go with the API key (role service), as the issue says.
 */
export const tokens = TestTokenIssuer.create({ issuer: 'https://issuer.bench.traceo.invalid', audience: 'traceo' });

export async function keyAdminHeaders(tenantId: string): Promise<Record<string, string>> {
  const token = await (await tokens).issue({ sub: 'bench-key-admin', tenantId, roles: ['key-admin'] });
  return { authorization: `Bearer ${token}` };
}

export interface BenchService {
  readonly pid: number;
  readonly url: string;
  readonly schema: string;
  readonly logFile: string;
  log(): string;
  /** SIGTERM (the service drains its outbox and closes), then drops the schema. */
  stop(): Promise<void>;
  /** The CPU profile written at exit, when asked for. */
  cpuProfile(): string | undefined;
}

/** Builds encryption-service (the last commit, or the working tree) and answers its main.js. */
export function buildService(from: 'head' | 'worktree'): string {
  return buildServiceMain('encryption-service', from);
}

async function serviceEnv(options: ServiceOptions, schema: string): Promise<Record<string, string>> {
  const infra = loadInfraEnv();
  const issuer = await tokens;
  return {
    TRACEO_HTTP_PORT: String(options.port),
    TRACEO_DATABASE_URL: infra.databaseUrl,
    TRACEO_DATABASE_SCHEMA: schema,
    TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TRACEO_KAFKA_CONSUMER_GROUP: `bench-encryption-service-${options.run}`,
    TRACEO_KAFKA_NAMESPACE: benchNamespace(options.run),
    TRACEO_LOG_LEVEL: options.logLevel,
    TRACEO_API_KEYS: `bench:${API_KEY}`,
    TRACEO_JWT_ISSUER: issuer.issuer,
    TRACEO_JWT_AUDIENCE: issuer.audience,
    TRACEO_JWT_JWKS: JSON.stringify(issuer.jwks()),
    // The bench measures the encryption path's capacity, not a deployment's request limits.
    TRACEO_RATE_LIMIT_ENABLED: 'false',
    ...pkcs11Env(),
  };
}

export async function startService(options: ServiceOptions): Promise<BenchService> {
  const schema = `bench_encryption_${options.run}`;
  const service = await startBuiltService({
    name: 'encryption-service',
    main: options.main,
    port: options.port,
    env: await serviceEnv(options, schema),
    logDirPrefix: 'bench-encryption-',
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    schema,
    kafkaNamespace: benchNamespace(options.run),
  });
  return { ...service, schema, stop: () => service.stop() };
}
