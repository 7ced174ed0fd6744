import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface InfraEnv {
  readonly databaseUrl: string;
  readonly kafkaBrokers: string[];
  readonly redisUrl: string;
  readonly pkcs11Module: string;
  readonly raw: Readonly<Record<string, string>>;
}

export const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

/**
 * Connection settings of the infrastructure started by `tools/infra up` (PostgreSQL, Kafka, Redis,
 * SoftHSM2). Jest's global setup brings it up; this only reads what it wrote.
 */
export function loadInfraEnv(): InfraEnv {
  const file = join(WORKSPACE_ROOT, '.infra', 'env.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run tools/infra up`);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const need = (name: string): string => {
    const value = raw[name];
    if (!value) throw new Error(`${name} missing from ${file}`);
    return value;
  };
  return {
    databaseUrl: need('TRACEO_DATABASE_URL'),
    kafkaBrokers: need('TRACEO_KAFKA_BROKERS').split(','),
    redisUrl: need('TRACEO_REDIS_URL'),
    pkcs11Module: need('TRACEO_PKCS11_MODULE'),
    raw,
  };
}

/**
 * The environment that points a service at the project's SoftHSM2 token (KEK, wrapped keys), for a
 * service started as its own process; SOFTHSM2_CONF is read by the PKCS#11 module itself.
 */
export function pkcs11Env(infra: InfraEnv = loadInfraEnv()): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['TRACEO_PKCS11_MODULE', 'TRACEO_PKCS11_TOKEN_LABEL', 'TRACEO_PKCS11_PIN', 'SOFTHSM2_CONF']) {
    const value = infra.raw[name];
    if (!value) throw new Error(`${name} missing from .infra/env.json: run tools/infra up`);
    env[name] = value;
  }
  return env;
}
