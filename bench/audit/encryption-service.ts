// The real encryption-service that seals the bench's personal fields: dist/apps/encryption-service
// (node tools/build.mjs apps/encryption-service), started as its own process with the environment the
// e2e tests give it (e2e/src/services.ts): KEK in SoftHSM2, PostgreSQL and Kafka of tools/infra, its
// own schema, consumer group, port (44xx) and API key. Its log goes to a file, so the bench does not
// spend the shared cores reading a pipe.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadInfraEnv, withClient, WORKSPACE_ROOT } from '@traceo/testing';

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

async function freePort(from: number): Promise<number> {
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

export async function startEncryptionService(schema: string, run: string): Promise<BenchEncryptionService> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run node tools/build.mjs apps/encryption-service`);
  const infra = loadInfraEnv();
  const port = await freePort(4470);
  const apiKey = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    TRACEO_HTTP_PORT: String(port),
    TRACEO_DATABASE_URL: infra.databaseUrl,
    TRACEO_DATABASE_SCHEMA: schema,
    TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TRACEO_KAFKA_CONSUMER_GROUP: `bench-audit-encryption-${run}`,
    TRACEO_LOG_LEVEL: 'warn',
    // An interim API key: role `service`, which may provision subject keyrings and use keys.
    TRACEO_API_KEYS: `bench-audit:${apiKey}`,
    // The bench measures sealing, not the request rate limiter (where the build has one).
    TRACEO_RATE_LIMIT_ENABLED: 'false',
  };
  for (const name of ['TRACEO_PKCS11_MODULE', 'TRACEO_PKCS11_TOKEN_LABEL', 'TRACEO_PKCS11_PIN', 'SOFTHSM2_CONF']) {
    const value = infra.raw[name];
    if (!value) throw new Error(`${name} missing from .infra/env.json: run tools/infra up`);
    env[name] = value;
  }
  const logFile = join(mkdtempSync(join(tmpdir(), 'bench-audit-encryption-')), 'encryption-service.log');
  const out = openSync(logFile, 'a');
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TRACEO_')));
  const child = spawn(process.execPath, [MAIN], { cwd: WORKSPACE_ROOT, env: { ...inherited, ...env }, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFileSync(logFile, 'utf8');
  const service: BenchEncryptionService = {
    pid: child.pid!,
    url,
    apiKey,
    schema,
    builtAt: statSync(MAIN).mtime,
    log,
    async stop({ dropSchema = true } = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (dropSchema) await withClient(infra.databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
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
