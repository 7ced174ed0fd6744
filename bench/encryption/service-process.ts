// The real encryption-service for the bench: built by tools/build.mjs, started as its own Node process
// with the environment the e2e tests give it (e2e/src/services.ts: KEK in SoftHSM2, real PostgreSQL
// and Kafka), on a schema and consumer group of its own. Its log goes to a file, not through a pipe
// to the bench, so the bench process does not spend the shared cores reading it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadInfraEnv, TestTokenIssuer, WORKSPACE_ROOT, withClient } from '@traceo/testing';
import { buildServiceMain } from '../built-service';

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

/** The first port from `from` up to 4499 nobody listens on. */
export async function freePort(from: number): Promise<number> {
  for (let port = from; port <= 4499; port += 1) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
        .once('error', () => resolve(false))
        .listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}..4499`);
}

async function serviceEnv(options: ServiceOptions, schema: string): Promise<Record<string, string>> {
  const infra = loadInfraEnv();
  const issuer = await tokens;
  const env: Record<string, string> = {
    TRACEO_HTTP_PORT: String(options.port),
    TRACEO_DATABASE_URL: infra.databaseUrl,
    TRACEO_DATABASE_SCHEMA: schema,
    TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TRACEO_KAFKA_CONSUMER_GROUP: `bench-encryption-service-${options.run}`,
    TRACEO_LOG_LEVEL: options.logLevel,
    TRACEO_API_KEYS: `bench:${API_KEY}`,
    TRACEO_JWT_ISSUER: issuer.issuer,
    TRACEO_JWT_AUDIENCE: issuer.audience,
    TRACEO_JWT_JWKS: JSON.stringify(issuer.jwks()),
    // The bench measures the encryption path's capacity, not a deployment's request limits.
    TRACEO_RATE_LIMIT_ENABLED: 'false',
  };
  // The project's SoftHSM2 token; SOFTHSM2_CONF is read by the PKCS#11 module itself.
  for (const name of ['TRACEO_PKCS11_MODULE', 'TRACEO_PKCS11_TOKEN_LABEL', 'TRACEO_PKCS11_PIN', 'SOFTHSM2_CONF']) {
    const value = infra.raw[name];
    if (!value) throw new Error(`${name} missing from .infra/env.json: run tools/infra up`);
    env[name] = value;
  }
  return env;
}

export async function startService(options: ServiceOptions): Promise<BenchService> {
  const schema = `bench_encryption_${options.run}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-encryption-'));
  const logFile = join(dir, 'service.log');
  const out = openSync(logFile, 'a');
  const flags = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TRACEO_')));
  // A copy of a build outside the workspace finds its third-party packages through NODE_PATH.
  const nodePath = { NODE_PATH: join(WORKSPACE_ROOT, 'node_modules') };
  const child: ChildProcess = spawn(process.execPath, [...flags, options.main], {
    cwd: WORKSPACE_ROOT,
    env: { ...inherited, ...nodePath, ...(await serviceEnv(options, schema)) },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const log = () => readFileSync(logFile, 'utf8');
  const service: BenchService = {
    pid: child.pid!,
    url,
    schema,
    logFile,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const { databaseUrl } = loadInfraEnv();
      await withClient(databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    },
    cpuProfile() {
      if (!options.cpuProfileDir) return undefined;
      const file = readdirSync(options.cpuProfileDir).find((name) => name.endsWith('.cpuprofile') && name.includes(`.${child.pid}.`));
      return file && join(options.cpuProfileDir, file);
    },
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`encryption-service exited early:\n${log().slice(-3000)}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return service;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await service.stop();
  throw new Error(`encryption-service not ready after 90 s:\n${log().slice(-3000)}`);
}
