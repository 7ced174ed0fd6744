import { createHash } from 'node:crypto';
import type { ClientBase, Pool, QueryResultRow } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';

/** What a prepared statement answers: its rows, and how many rows it returned or changed. */
export interface PreparedResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

/**
 * Runs a statement of a hot path as a named prepared statement: PostgreSQL parses and plans it once
 * per connection instead of on every call. For a primary-key lookup that took PostgreSQL's CPU from
 * about 85 to about 20 µs per call here (docs/benchmarks.md, bench/auth).
 *
 * On a DataSource the statement runs on a pooled connection in autocommit, outside any transaction:
 * use it for statements that are atomic on their own. On a connected QueryRunner it runs on that
 * runner's connection, inside its transaction when one is open. The name is derived from the text,
 * so one text is one statement on every connection and two texts never share a name. Name the
 * columns (no `SELECT *`): a prepared statement's result columns are fixed when it is prepared.
 */
export async function runPrepared<R extends QueryResultRow>(
  on: DataSource | QueryRunner,
  text: string,
  values: readonly unknown[],
): Promise<PreparedResult<R>> {
  // node-postgres types `values` as mutable but only reads it: no copy on every call of a hot path.
  const result = await connectionOf(on).query<R>({ name: statementName(text), text, values: values as unknown[] });
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

const names = new Map<string, string>();

function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `traceo_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * A QueryRunner's node-postgres connection (`databaseConnection` of TypeORM's PostgresQueryRunner, set
 * by `connect()`), or the pool behind a DataSource's PostgreSQL driver (`master`: the pool it queries
 * when there is no replication).
 */
function connectionOf(on: DataSource | QueryRunner): Pick<Pool | ClientBase, 'query'> {
  const connection = isQueryRunner(on)
    ? (on as unknown as { databaseConnection?: ClientBase }).databaseConnection
    : (on.driver as unknown as { master?: Pool }).master;
  if (!connection || typeof connection.query !== 'function')
    throw new Error('runPrepared needs an initialized PostgreSQL data source or a connected query runner');
  return connection;
}

function isQueryRunner(on: DataSource | QueryRunner): on is QueryRunner {
  return 'startTransaction' in on;
}
