/* eslint-disable @typescript-eslint/no-explicit-any -- tests explore JSON response bodies loosely */
import type { Role } from '@traceo/security';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { ensureTopics, MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { createLogger } from '@traceo/observability';
import { openServiceDatabase } from '@traceo/persistence';
import {
  assembleServiceRuntime,
  EventPublisher,
  httpAuditMiddleware,
  InboxTransport,
  jsonBodyParserOptions,
  loadConfig,
  type ServiceRuntime,
} from '@traceo/service-kit';
import { createScratchSchema, freePort, loadInfraEnv, startGroupAtEnd, waitFor } from '@traceo/testing';
import { AccountRepository } from '../src/accounts/account.repository';
import { AppModule } from '../src/app.module';
import { authConfigSchema, type AuthConfig } from '../src/auth-service.config';
import { authServiceDefinition } from '../src/auth-service.definition';
import { AUTH_MIGRATIONS } from '../src/migrations';
import type { ClientRegistrationInput } from '../src/clients/client-policy';

/** The API key the test service accepts (test configuration only). */
export const TEST_API_KEY = 'auth-test-key-0000000000000000000000000';

export interface RunningService {
  readonly app: INestApplication;
  readonly runtime: ServiceRuntime<AuthConfig>;
}

/**
 * What `startService` does, in-process: Nest's adapter loader cannot `require` the Express
 * platform under Jest, so the adapter is passed in. Configuration through the service's own
 * schema, migrations on the scratch schema, topics, the outbox relay to the real Kafka, the audit
 * record of every API call (httpAuditMiddleware), HTTP.
 */
async function startInProcess(config: AuthConfig, schema: string, prefix: string): Promise<RunningService> {
  const dataSource = await openServiceDatabase({
    url: config.TRACEO_DATABASE_URL,
    schema,
    applicationName: prefix,
    migrations: [...MESSAGING_MIGRATIONS, ...AUTH_MIGRATIONS],
  });
  const runtime = assembleServiceRuntime('auth-service', config, { dataSource, logger: createLogger(prefix, 'silent') });
  await ensureTopics(runtime.kafka);
  await runtime.kafkaAdmin.connect();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), new ExpressAdapter(), {
    logger: ['error'],
    bodyParser: false,
  });
  app.disable('x-powered-by');
  app.use(httpAuditMiddleware('auth-service', app.get(EventPublisher), runtime.logger));
  app.useBodyParser('json', jsonBodyParserOptions('256kb', authServiceDefinition.ownBodyPaths));
  app.connectMicroservice({ strategy: new InboxTransport(runtime) }, { inheritAppConfig: true });
  await runtime.relay.start();
  await app.init();
  await app.startAllMicroservices();
  await app.listen(config.TRACEO_HTTP_PORT, config.TRACEO_HTTP_HOST);
  return { app, runtime };
}

export interface AuthTestService {
  readonly service: RunningService;
  /** e.g. http://127.0.0.1:PORT */
  readonly origin: string;
  /** http://127.0.0.1:PORT/oidc */
  readonly issuer: string;
  readonly schema: string;
  createAccount(tenantId: string, username: string, password: string, roles: Role[]): Promise<string>;
  /** Waits for an event of this type, published through the outbox relay to Kafka, that satisfies `match`. */
  event(type: string, match: (event: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Events of this type received from Kafka so far that satisfy `match`. */
  received(type: string, match: (event: Record<string, any>) => boolean): Record<string, any>[];
  close(): Promise<void>;
}

/**
 * The real auth-service, started as `npm start` starts it (startService: configuration, migrations
 * on a scratch schema of the real PostgreSQL, Kafka topics, the outbox relay to the real Kafka, HTTP
 * on a free loopback port), with the HSM KEK on the project's SoftHSM2 token.
 */
export async function startAuthTestService(
  prefix: string,
  clients: ClientRegistrationInput[],
  /** Extra configuration, given the service's origin (known only once its port is chosen). */
  extraEnv: (origin: string) => Record<string, string> = () => ({}),
): Promise<AuthTestService> {
  const env = loadInfraEnv();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const scratch = await createScratchSchema(env.databaseUrl, prefix);
  const need = (name: string) => {
    const value = env.raw[name];
    if (!value) throw new Error(`${name} missing from .infra/env.json: run tools/infra up`);
    return value;
  };
  process.env.SOFTHSM2_CONF = need('SOFTHSM2_CONF');
  const config = loadConfig(authConfigSchema, {
    TRACEO_HTTP_PORT: String(port),
    TRACEO_HTTP_HOST: '127.0.0.1',
    TRACEO_LOG_LEVEL: 'silent',
    TRACEO_API_KEYS: `test:${TEST_API_KEY}`,
    TRACEO_DATABASE_URL: env.databaseUrl,
    TRACEO_DATABASE_SCHEMA: scratch.schema,
    TRACEO_KAFKA_BROKERS: env.kafkaBrokers.join(','),
    TRACEO_KAFKA_CONSUMER_GROUP: `${prefix}-${scratch.schema}`,
    // The tests make many anonymous calls from one address; the sign-in backoff is what they exercise.
    TRACEO_RATE_LIMIT_RULES: JSON.stringify({
      rules: [
        {
          name: 'anonymous',
          algorithm: 'sliding-window',
          limit: [1000],
          window_size: [1],
          identifier: { type: 'ip' },
          failure_mode: 'open',
        },
      ],
    }),
    TRACEO_AUTH_ISSUER: `${origin}/oidc`,
    // auth-service's own API trusts the tokens it issues, through its JWKS like every other service.
    TRACEO_JWT_ISSUER: `${origin}/oidc`,
    TRACEO_JWT_AUDIENCE: 'urn:traceo:api',
    TRACEO_JWT_JWKS_URL: `${origin}/oidc/jwks`,
    TRACEO_AUTH_RESOURCES: 'urn:traceo:api,https://other-api.traceo.test',
    TRACEO_AUTH_CLIENTS: JSON.stringify(clients),
    TRACEO_PKCS11_MODULE: need('TRACEO_PKCS11_MODULE'),
    TRACEO_PKCS11_TOKEN_LABEL: need('TRACEO_PKCS11_TOKEN_LABEL'),
    TRACEO_PKCS11_PIN: need('TRACEO_PKCS11_PIN'),
    ...extraEnv(origin),
  });
  const service = await startInProcess(config, scratch.schema, prefix);
  const accounts = service.app.get(AccountRepository);
  // Everything this service publishes reaches Kafka through its outbox relay; the tests read it there.
  const events: Record<string, any>[] = [];
  const group = `${prefix}-reader-${scratch.schema}`;
  const topics = ['traceo.audit.record.v1', 'traceo.auth.refresh-token-reused.v1'];
  for (const topic of topics) await startGroupAtEnd(service.runtime.kafka, group, topic);
  const consumer = service.runtime.kafka.consumer({ groupId: group });
  await consumer.connect();
  await consumer.subscribe({ topics });
  await consumer.run({
    eachMessage: ({ message }) => {
      const event = JSON.parse(message.value?.toString('utf8') ?? '{}') as Record<string, any>;
      if (event['source'] === '/traceo/auth-service') events.push(event);
      return Promise.resolve();
    },
  });
  return {
    service,
    origin,
    issuer: `${origin}/oidc`,
    schema: scratch.schema,
    createAccount: async (tenantId, username, password, roles) =>
      (await accounts.create({ tenantId, username, password, roles })).accountId,
    event: (type, match, timeoutMs = 30000) =>
      waitFor(() => Promise.resolve(events.find((event) => event['type'] === type && match(event))), `${type} on Kafka`, timeoutMs),
    received: (type, match) => events.filter((event) => event['type'] === type && match(event)),
    close: async () => {
      await consumer.disconnect();
      await service.app.close();
      await scratch.drop();
    },
  };
}
