// The real auth-service for the bench: built by tools/build.mjs into dist/, started as its own Node
// process with the environment its integration tests give it (test/auth-test-service.ts: signing keys
// and client secrets wrapped by the KEK on the project's SoftHSM2 token, real PostgreSQL and Kafka),
// on a scratch schema dropped at the end. Its log goes to a file, not through a pipe to the bench.
import { loadInfraEnv, pkcs11Env } from '@traceo/testing';
import { buildServiceMain, startBuiltService } from '../built-service';
import { benchNamespace } from '../kafka-namespace';

export interface AuthServiceOptions {
  readonly port: number;
  readonly run: string;
  /** TRACEO_AUTH_CLIENTS: the clients registered from configuration (the bench's admin client). */
  readonly clients: readonly Record<string, unknown>[];
  /** Writes a V8 CPU profile of the service (node --cpu-prof) into this directory on exit. */
  readonly cpuProfileDir?: string;
  /** More configuration (e.g. TRACEO_AUTH_RISK_DEADLINE_MS). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A further replica: the first replica's origin, whose issuer (and schema, already migrated) it
   * shares, as replicas behind one load balancer do; it leaves the schema to the first replica to drop.
   */
  readonly replicaOf?: string;
  /**
   * How the service reaches PostgreSQL on this host: TCP over loopback (TRACEO_DATABASE_URL, the
   * default) or its Unix socket (TRACEO_DATABASE_SOCKET_URL: what a service beside its database uses).
   */
  readonly database?: 'socket' | 'tcp';
}

export interface BenchAuthService {
  readonly pid: number;
  readonly origin: string;
  readonly issuer: string;
  readonly schema: string;
  readonly logFile: string;
  /** SIGTERM (the service drains its outbox and closes), then drops the schema. */
  stop(): Promise<void>;
  cpuProfile(): string | undefined;
}

function databaseSocketUrl(raw: Readonly<Record<string, string>>): string {
  const url = raw.TRACEO_DATABASE_SOCKET_URL;
  if (!url) throw new Error('TRACEO_DATABASE_SOCKET_URL missing from .infra/env.json: run tools/infra up');
  return url;
}

/** Builds auth-service (the last commit, or the working tree) and answers its main.js. */
export function buildAuthService(from: 'head' | 'worktree'): string {
  return buildServiceMain('auth-service', from);
}

/**
 * The anonymous rule of the /oidc routes, raised from the default 20/s per IP so that one bench
 * address is not throttled: the limiter still runs on every request (the work stays in), it just
 * does not refuse. Printed by the bench.
 */
export const BENCH_RATE_LIMIT_RULES = JSON.stringify({
  rules: [
    {
      name: 'anonymous',
      algorithm: 'sliding-window',
      limit: [1_000_000],
      window_size: [1],
      identifier: { type: 'ip' },
      failure_mode: 'open',
    },
  ],
});

const consumerGroup = (run: string) => `bench-auth-service-${run}`;

function serviceEnv(options: AuthServiceOptions, schema: string, origin: string): Record<string, string> {
  const infra = loadInfraEnv();
  const issuerOrigin = options.replicaOf ?? origin;
  return {
    TRACEO_HTTP_PORT: String(options.port),
    TRACEO_HTTP_HOST: '127.0.0.1',
    TRACEO_DATABASE_URL: options.database === 'socket' ? databaseSocketUrl(infra.raw) : infra.databaseUrl,
    TRACEO_DATABASE_SCHEMA: schema,
    TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TRACEO_KAFKA_CONSUMER_GROUP: consumerGroup(options.run),
    TRACEO_KAFKA_NAMESPACE: benchNamespace(options.run),
    TRACEO_LOG_LEVEL: 'warn',
    TRACEO_API_KEYS: `bench:bench-auth-api-key-${options.run}-000000000000`,
    TRACEO_RATE_LIMIT_RULES: BENCH_RATE_LIMIT_RULES,
    TRACEO_AUTH_ISSUER: `${issuerOrigin}/oidc`,
    TRACEO_JWT_ISSUER: `${issuerOrigin}/oidc`,
    TRACEO_JWT_AUDIENCE: 'urn:traceo:api',
    TRACEO_JWT_JWKS_URL: `${issuerOrigin}/oidc/jwks`,
    TRACEO_AUTH_RESOURCES: 'urn:traceo:api',
    TRACEO_AUTH_CLIENTS: JSON.stringify(options.clients),
    ...options.env,
    ...pkcs11Env(),
  };
}

export async function startAuthService(main: string, options: AuthServiceOptions): Promise<BenchAuthService> {
  const schema = `bench_auth_${options.run}`;
  const origin = `http://127.0.0.1:${options.port}`;
  // The run's topics are its own (benchNamespace): the consumer group starts on empty topics instead of
  // replaying the session-revoke commands of earlier tests and benches. The first replica deletes them.
  const service = await startBuiltService({
    name: 'auth-service',
    main,
    port: options.port,
    env: serviceEnv(options, schema, origin),
    logDirPrefix: 'bench-auth-',
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    // A further replica leaves the schema and the run's topics to the first.
    ...(options.replicaOf ? {} : { schema, kafkaNamespace: benchNamespace(options.run) }),
  });
  return {
    pid: service.pid,
    origin,
    issuer: `${options.replicaOf ?? origin}/oidc`,
    schema,
    logFile: service.logFile,
    stop: () => service.stop(),
    cpuProfile: () => service.cpuProfile(),
  };
}
