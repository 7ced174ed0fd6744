export { assertSchemaName, openServiceDatabase, type ServiceDatabaseOptions } from './service-database';
export { grantToRuntimeRoles, type RoleGrant, type TablePrivilege } from './runtime-role-grants';
export { runPrepared, type PreparedResult } from './prepared-statements';
export { copyRowsIn, type CopyColumn, type CopyColumnType, type CopyValue } from './binary-copy';
