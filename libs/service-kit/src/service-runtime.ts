import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { OutboxRelay } from '@traceo/messaging';
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
