import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { join } from 'node:path';
import { loadInfraEnv, startProcess, WORKSPACE_ROOT, type RunningProcess } from '@traceo/testing';

export const SERVICES = ['auth-service', 'encryption-service', 'audit-service', 'risk-service', 'compliance-service'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const DOMAIN: Record<ServiceName, string> = {
  'auth-service': 'auth',
  'encryption-service': 'encryption',
  'audit-service': 'audit',
  'risk-service': 'risk',
  'compliance-service': 'compliance',
};

export interface StartedService {
  readonly name: ServiceName;
  readonly url: string;
  readonly schema: string;
  readonly group: string;
  readonly process: RunningProcess;
}

/** Environment for one built service, isolated from any platform instance a developer is running. */
export function serviceEnv(
  name: ServiceName,
  port: number,
  run: string,
  /** audit-service: where encryption-service listens (the default is a closed port: only records without personal data can be appended). */
  encryptionUrl = 'http://127.0.0.1:9',
): Record<string, string> {
  const env = loadInfraEnv();
  return {
    TRACEO_HTTP_PORT: String(port),
    TRACEO_DATABASE_URL: env.databaseUrl,
    TRACEO_DATABASE_SCHEMA: `e2e_${DOMAIN[name]}_${run}`,
    TRACEO_KAFKA_BROKERS: env.kafkaBrokers.join(','),
    TRACEO_REDIS_URL: env.redisUrl,
    TRACEO_KAFKA_CONSUMER_GROUP: `e2e-${name}-${run}`,
    TRACEO_LOG_LEVEL: 'info',
    TRACEO_API_KEYS: `e2e:${API_KEY}`,
    ...JWT_ENV,
    ...(name === 'audit-service'
      ? {
          TRACEO_AUDIT_SIGNING_KEY_SOURCE: 'hsm',
          TRACEO_AUDIT_CURSOR_KEY: AUDIT_CURSOR_KEY,
          TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS: '200',
          TRACEO_ENCRYPTION_URL: encryptionUrl,
          TRACEO_ENCRYPTION_API_KEY: API_KEY,
        }
      : {}),
    ...(name === 'auth-service' ? { TRACEO_AUTH_ISSUER: `http://127.0.0.1:${port}/oidc` } : {}),
    ...(name === 'encryption-service' || name === 'audit-service' || name === 'auth-service' ? pkcs11Env(env.raw) : {}),
  };
}

/** The project's SoftHSM2 token; SOFTHSM2_CONF is read by the PKCS#11 module itself, not by the service. */
function pkcs11Env(raw: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['TRACEO_PKCS11_MODULE', 'TRACEO_PKCS11_TOKEN_LABEL', 'TRACEO_PKCS11_PIN', 'SOFTHSM2_CONF']) {
    const value = raw[name];
    if (!value) throw new Error(`${name} missing from .infra/env.json: run tools/infra up`);
    env[name] = value;
  }
  return env;
}

/** The API key the tests call the services with (generated per run). */
export const API_KEY = randomBytes(24).toString('hex');
export const AUTHORIZED = { authorization: `Bearer ${API_KEY}` };

/** The forensic-search cursor secret for this test run (audit-service signs checkpoints with its key in SoftHSM2). */
const AUDIT_CURSOR_KEY = randomBytes(32).toString('base64');

export function startBuiltService(name: ServiceName, env: Record<string, string | undefined>): RunningProcess {
  return startProcess([process.execPath, join(WORKSPACE_ROOT, 'dist', 'apps', name, 'main.js')], env);
}

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

export async function waitForReady(url: string, process: RunningProcess, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.child.exitCode !== null) throw new Error(`service exited early:\n${process.output().slice(-3000)}`);
    try {
      const response = await fetch(`${url}/health/ready`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${process.output().slice(-3000)}`);
}

/**
 * The e2e run's token issuer, standing in for auth-service: services trust its public key
 * (TRACEO_JWT_JWKS), and `tokenFor` mints access tokens with the roles a test needs.
 */
const E2E_ISSUER = 'https://issuer.e2e.traceo.invalid';
const E2E_AUDIENCE = 'traceo';
const issuerKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const JWT_ENV = {
  TRACEO_JWT_ISSUER: E2E_ISSUER,
  TRACEO_JWT_AUDIENCE: E2E_AUDIENCE,
  TRACEO_JWT_JWKS: JSON.stringify({ keys: [{ ...issuerKeys.publicKey.export({ format: 'jwk' }), kid: 'e2e', alg: 'ES256', use: 'sig' }] }),
};

export async function tokenFor(roles: string[], tenantId = '*'): Promise<string> {
  return new SignJWT({ tenant_id: tenantId, roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'e2e', typ: 'at+jwt' })
    .setIssuer(E2E_ISSUER)
    .setAudience(E2E_AUDIENCE)
    .setSubject(`e2e-${roles.join('+')}`)
    .setIssuedAt()
    .setExpirationTime('15m')
    .sign(issuerKeys.privateKey);
}

/** Authorization headers for a token with these roles. */
export async function bearer(roles: string[], tenantId = '*'): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await tokenFor(roles, tenantId)}` };
}
