/* eslint-disable @typescript-eslint/no-explicit-any -- tests explore JSON response bodies loosely */
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { createLogger } from '@traceo/observability';
import { openServiceDatabase } from '@traceo/persistence';
import { assembleServiceRuntime, EventPublisher, loadConfig, type ServiceRuntime } from '@traceo/service-kit';
import { createScratchSchema, loadInfraEnv, TestTokenIssuer } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { encryptionConfigSchema, type EncryptionConfig } from '../src/encryption-service.config';
import { Pkcs11KeyEncryptionKey, type Pkcs11Options } from '@traceo/hsm';
import { ENCRYPTION_MIGRATIONS } from '../src/migrations';
import { AppModule } from '../src/app.module';
import { ENCRYPTION_JSON_BODY_LIMIT } from '../src/encryption-service.definition';

/**
 * The project's SoftHSM2 token. SoftHSM2 reads SOFTHSM2_CONF from the real process environment when the
 * module is loaded: test/jest-global-setup.cjs exports it before the tests run; setting it here too
 * covers the case where this file is used outside Jest.
 */
export function softHsmOptions(): Pkcs11Options {
  const { raw } = loadInfraEnv();
  const need = (name: string): string => {
    const value = raw[name];
    if (!value) throw new Error(`${name} missing from .infra/env.json: run tools/infra up`);
    return value;
  };
  process.env.SOFTHSM2_CONF = need('SOFTHSM2_CONF');
  return { modulePath: need('TRACEO_PKCS11_MODULE'), tokenLabel: need('TRACEO_PKCS11_TOKEN_LABEL'), pin: need('TRACEO_PKCS11_PIN') };
}

/** The API key the test runtime accepts (test configuration only). */
export const TEST_API_KEY = 'encryption-test-key-00000000000000000000';

export interface EncryptionTestRuntime {
  readonly dataSource: DataSource;
  readonly runtime: ServiceRuntime<EncryptionConfig>;
  readonly publisher: EventPublisher;
  readonly kek: Pkcs11KeyEncryptionKey;
  readonly schema: string;
  /** Stands in for auth-service: the runtime trusts its JWKS (TRACEO_JWT_*). */
  readonly issuer: TestTokenIssuer;
  close(): Promise<void>;
}

/**
 * encryption-service's runtime on a throwaway schema of the real PostgreSQL, with the KEK on the real
 * SoftHSM2 token. The outbox relay is never started: audit events stay in the outbox table.
 */
export async function openEncryptionTestRuntime(prefix: string): Promise<EncryptionTestRuntime> {
  const env = loadInfraEnv();
  const hsm = softHsmOptions();
  const scratch = await createScratchSchema(env.databaseUrl, prefix);
  const dataSource = await openServiceDatabase({
    url: env.databaseUrl,
    schema: scratch.schema,
    applicationName: prefix,
    migrations: [...MESSAGING_MIGRATIONS, ...ENCRYPTION_MIGRATIONS],
  });
  const issuer = await TestTokenIssuer.create({ issuer: 'https://issuer.encryption-test.traceo.invalid', audience: 'traceo:encryption' });
  const config = loadConfig(encryptionConfigSchema, {
    TRACEO_JWT_ISSUER: 'https://issuer.encryption-test.traceo.invalid',
    TRACEO_JWT_AUDIENCE: 'traceo:encryption',
    TRACEO_JWT_JWKS: JSON.stringify(issuer.jwks()),
    TRACEO_HTTP_PORT: '1',
    TRACEO_LOG_LEVEL: 'silent',
    TRACEO_API_KEYS: `test:${TEST_API_KEY}`,
    // The test API client may lease subject keys; a token with role `service` may not.
    TRACEO_SUBJECT_KEY_LEASE_CLIENTS: 'test',
    TRACEO_DATABASE_URL: env.databaseUrl,
    TRACEO_KAFKA_BROKERS: env.kafkaBrokers.join(','),
    TRACEO_PKCS11_MODULE: hsm.modulePath,
    TRACEO_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
    TRACEO_PKCS11_PIN: hsm.pin,
  });
  const runtime = assembleServiceRuntime('encryption-service', config, { dataSource, logger: createLogger(prefix, 'silent') });
  const kek = Pkcs11KeyEncryptionKey.open({
    modulePath: config.TRACEO_PKCS11_MODULE,
    tokenLabel: config.TRACEO_PKCS11_TOKEN_LABEL,
    pin: config.TRACEO_PKCS11_PIN,
  });
  return {
    dataSource,
    runtime,
    publisher: new EventPublisher(runtime),
    kek,
    schema: scratch.schema,
    issuer,
    close: async () => {
      kek.close();
      if (dataSource.isInitialized) await dataSource.destroy();
      await scratch.drop();
    },
  };
}

export interface EncryptionTestApp {
  /** e.g. http://127.0.0.1:PORT/v1/encryption/tenants/TENANT/keyrings */
  keyrings(tenantId: string): string;
  /** Calls with the test API key (role service), or with the given bearer token. */
  call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; type: string; body: Record<string, any> }>;
  /** An access token from the test issuer with these roles, for `tenantId` (default: every tenant). */
  token(roles: string[], tenantId?: string): Promise<string>;
  readonly app: INestApplication;
  close(): Promise<void>;
}

/** The real AppModule (guard, filter, HSM, keyrings) on the test runtime, listening on an ephemeral port. */
export async function openEncryptionTestApp(test: EncryptionTestRuntime): Promise<EncryptionTestApp> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(test.runtime), new ExpressAdapter(), {
    logger: false,
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: ENCRYPTION_JSON_BODY_LIMIT });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const root = `http://127.0.0.1:${port}`;
  return {
    app,
    keyrings: (tenantId) => `${root}/v1/encryption/tenants/${tenantId}/keyrings`,
    token: (roles, tenantId = '*') => test.issuer.issue({ sub: `test-${roles.join('+')}`, tenantId, roles }),
    call: async (method, url, body, token) => {
      const response = await fetch(url.startsWith('http') ? url : `${root}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token ?? TEST_API_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        type: response.headers.get('content-type') ?? '',
        body: text ? (JSON.parse(text) as Record<string, any>) : {},
      };
    },
    close: () => app.close(),
  };
}
