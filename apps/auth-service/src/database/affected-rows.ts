/** Anything that runs SQL the TypeORM way (DataSource, EntityManager, QueryRunner). */
export interface SqlExecutor {
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

/**
 * Runs an UPDATE or DELETE and returns how many rows it changed. TypeORM's PostgreSQL driver answers
 * these statements with `[rows, rowCount]` rather than the rows, so `result.length` would always be 2.
 */
export async function affectedRows(executor: SqlExecutor, sql: string, parameters: unknown[] = []): Promise<number> {
  if (!/^\s*(UPDATE|DELETE)\b/i.test(sql)) throw new TypeError('affectedRows takes an UPDATE or DELETE statement');
  const result = await executor.query<unknown>(sql, parameters);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[1];
  throw new TypeError('unexpected result shape from the PostgreSQL driver');
}
