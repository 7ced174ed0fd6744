import { createScratchSchema, loadInfraEnv } from '@traceo/testing';
import { DataSource } from 'typeorm';
import { openServiceDatabase, runPrepared } from '../src';

// runPrepared on real PostgreSQL: the statement is a named prepared statement of the connection
// (pg_prepared_statements), prepared once and reused, one name per text; on a query runner it runs
// inside the runner's transaction.

describe('runPrepared (PostgreSQL)', () => {
  const infra = loadInfraEnv();
  let scratch: { schema: string; drop: () => Promise<void> };
  let dataSource: DataSource;

  beforeAll(async () => {
    scratch = await createScratchSchema(infra.databaseUrl, 'it_prepared');
    // One pooled connection, so the session this test inspects is the one the statements ran on.
    dataSource = await openServiceDatabase({ url: infra.databaseUrl, schema: scratch.schema, applicationName: 'it-prepared', poolSize: 1 });
    await dataSource.query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await scratch?.drop();
  });

  // No DEALLOCATE here: node-postgres remembers which statements its connection has prepared.
  beforeEach(() => dataSource.query('TRUNCATE items'));

  const prepared = () =>
    dataSource.query<{ name: string; statement: string }[]>('SELECT name, statement FROM pg_prepared_statements ORDER BY name');

  it('prepares a statement once per connection and answers its rows and row count', async () => {
    const insert = 'INSERT INTO items (id, label) VALUES ($1, $2)';
    const select = 'SELECT id, label FROM items WHERE id = $1';
    expect(await runPrepared(dataSource, insert, [1, 'one'])).toEqual({ rows: [], rowCount: 1 });
    expect(await runPrepared(dataSource, insert, [2, 'two'])).toEqual({ rows: [], rowCount: 1 });
    expect(await runPrepared(dataSource, select, [2])).toEqual({ rows: [{ id: 2, label: 'two' }], rowCount: 1 });
    expect(await runPrepared(dataSource, 'UPDATE items SET label = upper(label) WHERE id <= $1', [2])).toMatchObject({ rowCount: 2 });

    const statements = await prepared();
    // Three texts, three statements (the second insert reused the first's), each named traceo_<hash of its text>.
    expect(statements.map((s) => s.statement).sort()).toEqual(
      [insert, select, 'UPDATE items SET label = upper(label) WHERE id <= $1'].sort(),
    );
    for (const { name } of statements) expect(name).toMatch(/^traceo_[0-9a-f]{24}$/);
    expect(new Set(statements.map((s) => s.name)).size).toBe(3);
  });

  it('runs on a query runner inside its transaction', async () => {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runPrepared(runner, 'INSERT INTO items (id, label) VALUES ($1, $2)', [7, 'rolled back']);
      expect((await runPrepared(runner, 'SELECT count(*)::int AS n FROM items', [])).rows).toEqual([{ n: 1 }]);
      await runner.rollbackTransaction();
    } finally {
      await runner.release();
    }
    expect(await dataSource.query('SELECT id FROM items')).toEqual([]);
  });

  it('refuses a data source that is not connected', async () => {
    const closed = new DataSource({ type: 'postgres', url: infra.databaseUrl });
    await expect(runPrepared(closed, 'SELECT 1', [])).rejects.toThrow('runPrepared needs an initialized PostgreSQL data source');
  });
});
