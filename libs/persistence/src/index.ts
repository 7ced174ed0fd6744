export { assertSchemaName, openServiceDatabase, type ServiceDatabaseOptions } from './service-database';
