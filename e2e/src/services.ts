import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Role } from '@traceo/security';
import { loadInfraEnv, pkcs11Env, startProcess, WORKSPACE_ROOT, type RunningProcess } from '@traceo/testing';

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
    // audit-service (client `e2e`) seals personal data with leased subject keys.
    ...(name === 'encryption-service' ? { TRACEO_SUBJECT_KEY_LEASE_CLIENTS: 'e2e' } : {}),
    ...(name === 'auth-service' ? { TRACEO_AUTH_ISSUER: `http://127.0.0.1:${port}/oidc` } : {}),
    ...(name === 'encryption-service' || name === 'audit-service' || name === 'auth-service' ? pkcs11Env(env) : {}),
  };
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
 * auth-service is the token issuer every e2e service trusts (itself included), as in production: they
 * verify its access tokens against its JWKS. Spec files run one at a time (maxWorkers 1), each with
 * an auth-service of its own on this port, so the services' configuration does not depend on the spec.
 */
export const AUTH_PORT = 4300;
export const AUTH_URL = `http://127.0.0.1:${AUTH_PORT}`;
const ISSUER = `${AUTH_URL}/oidc`;
const AUDIENCE = 'urn:traceo:api';
const JWT_ENV = { TRACEO_JWT_ISSUER: ISSUER, TRACEO_JWT_AUDIENCE: AUDIENCE, TRACEO_JWT_JWKS_URL: `${ISSUER}/jwks` };

/** A principal a test acts as: a client_credentials client of one tenant, whose tokens carry its roles. */
export interface MachineClient {
  readonly tenant: string;
  readonly roles: readonly Role[];
}

/**
 * A spec's principals, registered with its auth-service through TRACEO_AUTH_CLIENTS (secrets generated per
 * run). Tokens come from the token endpoint (client_credentials) and are reused until shortly before they
 * expire, so polling tests do not hit the token endpoint's per-IP rate limit.
 *
 * Tokens of auth-service always name one tenant (`tenant_id` is the client's): a platform-wide principal
 * (tenant `*`) cannot be expressed, so tests read the services' own records from the `platform` tenant's log.
 */
export class MachineClients<Name extends string> {
  private readonly secrets = new Map<Name, string>();
  private readonly tokens = new Map<Name, { token: string; renewAt: number }>();

  constructor(private readonly clients: Readonly<Record<Name, MachineClient>>) {
    for (const name of this.names()) this.secrets.set(name, randomBytes(32).toString('base64url'));
  }

  /** TRACEO_AUTH_CLIENTS of the auth-service that issues their tokens. */
  registrations(): string {
    return JSON.stringify(
      this.names().map((name) => ({
        client_id: clientId(name),
        tenant_id: this.clients[name].tenant,
        client_secret: this.secrets.get(name),
        grant_types: ['client_credentials'],
        roles: this.clients[name].roles,
      })),
    );
  }

  /** Authorization headers with an access token of this client. */
  async bearer(name: Name): Promise<{ authorization: string }> {
    const cached = this.tokens.get(name);
    if (cached && cached.renewAt > Date.now()) return { authorization: `Bearer ${cached.token}` };
    const basic = Buffer.from(`${clientId(name)}:${this.secrets.get(name)!}`).toString('base64');
    const response = await fetch(`${ISSUER}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: AUDIENCE }),
    });
    const body = (await response.json()) as { access_token?: string; expires_in?: number };
    if (response.status !== 200 || !body.access_token) throw new Error(`no token for ${name}: ${response.status} ${JSON.stringify(body)}`);
    this.tokens.set(name, { token: body.access_token, renewAt: Date.now() + ((body.expires_in ?? 60) - 60) * 1000 });
    return { authorization: `Bearer ${body.access_token}` };
  }

  private names(): Name[] {
    return Object.keys(this.clients) as Name[];
  }
}

function clientId(name: string): string {
  return `e2e-${name}`;
}

/** Environment of the spec's auth-service: the issuer, on AUTH_PORT, with the spec's clients. */
export function authServiceEnv(run: string, clients: MachineClients<string>): Record<string, string> {
  return { ...serviceEnv('auth-service', AUTH_PORT, run), TRACEO_AUTH_CLIENTS: clients.registrations() };
}

/** Starts the spec's auth-service and waits until it is ready; drop `schema` afterwards. */
export async function startAuthService(run: string, clients: MachineClients<string>): Promise<{ process: RunningProcess; schema: string }> {
  const env = authServiceEnv(run, clients);
  const process = startBuiltService('auth-service', env);
  try {
    await waitForReady(AUTH_URL, process);
  } catch (error) {
    await process.stop('SIGKILL');
    throw error;
  }
  return { process, schema: env.TRACEO_DATABASE_SCHEMA! };
}
