import { Client } from 'pg';
import { DataSource, type EntitySchema, type MigrationInterface } from 'typeorm';

type EntityTarget = (new (...args: never[]) => unknown) | EntitySchema;
type MigrationClass = new () => MigrationInterface;

export interface ServiceDatabaseOptions {
  /** postgres:// URL of the service's own least-privilege role. Never logged. */
  readonly url: string;
  /** The PostgreSQL schema this service owns; no other service reads it. */
  readonly schema: string;
  readonly applicationName: string;
  readonly entities?: readonly EntityTarget[];
  /** Applied in order on start; each runs in its own transaction. */
  readonly migrations?: readonly MigrationClass[];
  /** false opens the data source without touching the schema (migrations ran elsewhere). */
  readonly runMigrations?: boolean;
  readonly poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name: ${schema}`);
  return schema;
}

/**
 * Opens the service's data source: makes sure its schema exists, connects with search_path set to
 * that schema only, and applies pending migrations. `synchronize` is never used: the schema is
 * whatever the migrations say it is.
 */
export async function openServiceDatabase(options: ServiceDatabaseOptions): Promise<DataSource> {
  const schema = assertSchemaName(options.schema);
  const migrate = options.runMigrations ?? true;
  if (migrate) await ensureSchema(options.url, schema);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema,
    applicationName: options.applicationName,
    entities: [...(options.entities ?? [])],
    migrations: [...(options.migrations ?? [])],
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: options.poolSize ?? 10, options: `-c search_path=${schema}` },
  });
  await dataSource.initialize();
  if (!migrate) return dataSource;
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}

/** Creates the schema when the role may; an operator-provisioned schema is left as it is. */
async function ensureSchema(url: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (existing.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
}
