import { createKafka, MessagingMetrics, OutboxRelay } from '@traceo/messaging';
import { createLogger, createMetricsRegistry } from '@traceo/observability';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { BaseConfig } from './config';

/** Everything a service opened before Nest started; provided to the module graph under SERVICE_RUNTIME. */
export interface ServiceRuntime<C extends BaseConfig = BaseConfig> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  /** Connected as the least-privilege runtime role. */
  readonly dataSource: DataSource;
  /** Connected as the schema owner, for migrations and DDL maintenance (partitions); the same as dataSource without TRACEO_DATABASE_OWNER_URL. */
  readonly maintenanceDataSource: DataSource;
  readonly kafka: Kafka;
  readonly kafkaAdmin: Admin;
  readonly relay: OutboxRelay;
  readonly metrics: Registry;
}

export const SERVICE_RUNTIME = Symbol('SERVICE_RUNTIME');

export interface RuntimeParts {
  readonly dataSource: DataSource;
  /** Owner connection for migrations and DDL maintenance; defaults to dataSource. */
  readonly maintenanceDataSource?: DataSource;
  readonly logger?: Logger;
  readonly metrics?: Registry;
}

/**
 * Assembles a service's runtime from its validated configuration and open database connections:
 * the Kafka client, an admin client (not yet connected) and the outbox relay (not yet started).
 * The one place that wires these together, for service start-up and for tests and benchmarks alike.
 */
export function assembleServiceRuntime<C extends BaseConfig>(name: string, config: C, parts: RuntimeParts): ServiceRuntime<C> {
  const logger = parts.logger ?? createLogger(name, config.TRACEO_LOG_LEVEL);
  const metrics = parts.metrics ?? createMetricsRegistry(name);
  const kafka = createKafka({ brokers: config.TRACEO_KAFKA_BROKERS, clientId: name, logger, namespace: config.TRACEO_KAFKA_NAMESPACE });
  const relay = new OutboxRelay({
    dataSource: parts.dataSource,
    kafka,
    // One relay per outbox table: replicas of a service share it; deployments on other schemas do not.
    lockName: `traceo.outbox.${name}.${(parts.dataSource.options as { schema?: string }).schema ?? config.TRACEO_DATABASE_SCHEMA ?? 'default'}`,
    logger,
    metrics: MessagingMetrics.for(metrics),
  });
  return {
    name,
    config,
    logger,
    dataSource: parts.dataSource,
    maintenanceDataSource: parts.maintenanceDataSource ?? parts.dataSource,
    kafka,
    kafkaAdmin: kafka.admin(),
    relay,
    metrics,
  };
}
