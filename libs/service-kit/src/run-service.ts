import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ensureTopics, MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { createLogger } from '@traceo/observability';
import { openServiceDatabase } from '@traceo/persistence';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { z } from 'zod';
import type { MigrationInterface } from 'typeorm';
import { ConfigurationError, loadConfig, type BaseConfig } from './config';
import { EventPublisher } from './event-publisher';
import { httpAuditMiddleware } from './http-audit.middleware';
import { InboxTransport } from './inbox.transport';
import { jsonBodyParserOptions } from './json-body';
import { assembleServiceRuntime, type ServiceRuntime } from './service-runtime';

export interface ServiceDefinition<S extends z.ZodType<BaseConfig>> {
  /** e.g. `audit-service`; also the Kafka consumer group and the default schema (`audit`). */
  readonly name: string;
  readonly description: string;
  readonly configSchema: S;
  /** Root feature module of the service; receives the runtime through ServiceKitModule. */
  readonly rootModule: (runtime: ServiceRuntime<z.infer<S>>) => Type<unknown> | import('@nestjs/common').DynamicModule;
  readonly migrations?: readonly (new () => MigrationInterface)[];
  readonly entities?: readonly (new (...args: never[]) => unknown)[];
  /** Largest JSON request body (body-parser syntax); default 256kb. Larger bodies get 413 REQUEST.TOO_LARGE. */
  readonly jsonBodyLimit?: string;
  /** The inbox consumer fetches while it applies (InboxConsumer `pipelined`), for high-volume consumers. */
  readonly pipelinedInbox?: boolean;
  /** Path prefixes whose handlers read their own request bodies: the JSON parser leaves them alone (jsonBodyParserOptions). */
  readonly ownBodyPaths?: readonly string[];
}

export interface RunningService {
  readonly app: INestApplication;
  readonly runtime: ServiceRuntime;
  readonly url: string;
}

/**
 * Boots a service: validated configuration (fail fast), its PostgreSQL schema and migrations, the
 * Kafka topics, the outbox relay, the HTTP API with OpenAPI at /docs-json, and the inbox consumer
 * as a Nest microservice. Records `service.started` in the audit log through the outbox.
 */
export async function startService<S extends z.ZodType<BaseConfig>>(
  definition: ServiceDefinition<S>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService> {
  const config = loadConfig(definition.configSchema, env);
  const logger = createLogger(definition.name, config.TRACEO_LOG_LEVEL);
  const database = {
    schema: config.TRACEO_DATABASE_SCHEMA ?? definition.name.replace(/-service$/, ''),
    migrations: [...MESSAGING_MIGRATIONS, ...(definition.migrations ?? [])],
    entities: [...(definition.entities ?? [])],
  };
  // With an owner URL, migrations and DDL maintenance run as the schema owner and the service itself
  // runs as the least-privilege role of TRACEO_DATABASE_URL, which only has the grants migrations give it.
  const maintenanceDataSource = config.TRACEO_DATABASE_OWNER_URL
    ? await openServiceDatabase({
        ...database,
        url: config.TRACEO_DATABASE_OWNER_URL,
        applicationName: `${definition.name}-maintenance`,
        poolSize: 2,
      })
    : undefined;
  const dataSource = await openServiceDatabase({
    ...database,
    url: config.TRACEO_DATABASE_URL,
    applicationName: definition.name,
    poolSize: config.TRACEO_DATABASE_POOL_SIZE,
    runMigrations: maintenanceDataSource === undefined,
  });
  const runtime = assembleServiceRuntime(definition.name, config, { dataSource, maintenanceDataSource, logger });
  await ensureTopics(runtime.kafka);
  await runtime.kafkaAdmin.connect();

  const app = await NestFactory.create<NestExpressApplication>(definition.rootModule(runtime), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(PinoNestLogger));
  app.disable('x-powered-by');
  app.use(httpAuditMiddleware(definition.name, app.get(EventPublisher), logger));
  app.useBodyParser('json', jsonBodyParserOptions(definition.jsonBodyLimit ?? '256kb', definition.ownBodyPaths));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle(definition.name).setDescription(definition.description).setVersion('1.0.0').build(),
  );
  SwaggerModule.setup('docs', app, document, { ui: false, jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
  app.connectMicroservice(
    { strategy: new InboxTransport(runtime, { pipelined: definition.pipelinedInbox ?? false }) },
    { inheritAppConfig: true },
  );

  await runtime.relay.start();
  await app.init(); // module hooks (schema preparation, schedulers) run before the consumer starts
  await app.startAllMicroservices();
  await app.listen(config.TRACEO_HTTP_PORT, config.TRACEO_HTTP_HOST);
  const url = await app.getUrl();
  await app.get(EventPublisher).audit({
    actor: { type: 'service', id: definition.name },
    action: 'service.started',
    resource: { type: 'service', id: definition.name },
    status: 'success',
  });
  logger.info({ url: url.replace('[::1]', 'localhost') }, 'ready');
  return { app, runtime, url };
}

/**
 * Entry point for `main.ts`: starts the service or exits with a message that names what is wrong.
 * SIGTERM/SIGINT close the app (HTTP, consumer, relay drain, database) and exit 0; a shutdown that
 * overruns TRACEO_SHUTDOWN_TIMEOUT_MS exits 1.
 */
export function runService<S extends z.ZodType<BaseConfig>>(definition: ServiceDefinition<S>): void {
  startService(definition).then(
    ({ app, runtime }) => {
      const shutdown = (signal: NodeJS.Signals) => {
        runtime.logger.info({ signal }, 'shutting down');
        setTimeout(() => {
          runtime.logger.error({ signal }, 'shutdown timed out');
          process.exit(1);
        }, runtime.config.TRACEO_SHUTDOWN_TIMEOUT_MS).unref();
        app.close().then(
          () => process.exit(0),
          (error: unknown) => {
            runtime.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    },
    (error: unknown) => {
      const logger = createLogger(definition.name);
      if (error instanceof ConfigurationError) {
        logger.fatal({ code: error.code, problems: error.problems }, error.message);
        process.exitCode = 78;
      } else {
        logger.fatal({ err: error }, 'could not start');
        process.exitCode = 1;
      }
      setTimeout(() => process.exit(), 100).unref();
    },
  );
}
