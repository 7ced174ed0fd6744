import { createScratchSchema, loadInfraEnv } from '@traceo/testing';
import { DataSource, type QueryRunner } from 'typeorm';
import { copyRowsIn, openServiceDatabase, type CopyColumn } from '../src';

// copyRowsIn on real PostgreSQL: what the binary COPY stores reads back as the same values as the
// text input PostgreSQL would have parsed (timestamps to the microsecond, NULLs, non-ASCII text,
// bytes, int8 beyond 32 bits, float4), defaults and CHECK constraints apply, partitions route rows,
// and it belongs to the query runner's transaction.

describe('copyRowsIn (PostgreSQL)', () => {
  const infra = loadInfraEnv();
  let scratch: { schema: string; drop: () => Promise<void> };
  let dataSource: DataSource;

  const COLUMNS: readonly CopyColumn[] = [
    { name: 'label', type: 'text' },
    { name: 'n', type: 'int8' },
    { name: 'score', type: 'float4' },
    { name: 'at', type: 'timestamptz' },
    { name: 'bytes', type: 'bytea' },
  ];

  beforeAll(async () => {
    scratch = await createScratchSchema(infra.databaseUrl, 'it_copy');
    dataSource = await openServiceDatabase({ url: infra.databaseUrl, schema: scratch.schema, applicationName: 'it-copy', poolSize: 2 });
    await dataSource.query(`
      CREATE TABLE items (
        seq bigserial,
        label text,
        n bigint,
        score real CHECK (score BETWEEN 0 AND 100),
        at timestamptz,
        bytes bytea,
        kind text NOT NULL DEFAULT 'a'
      ) PARTITION BY LIST (kind)`);
    await dataSource.query(`CREATE TABLE items_a PARTITION OF items FOR VALUES IN ('a')`);
    await dataSource.query(`CREATE TABLE items_b PARTITION OF items FOR VALUES IN ('b')`);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await scratch?.drop();
  });

  beforeEach(() => dataSource.query('TRUNCATE items'));

  async function inTransaction<T>(work: (runner: QueryRunner) => Promise<T>, commit = true): Promise<T> {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const result = await work(runner);
      if (commit) await runner.commitTransaction();
      else await runner.rollbackTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }

  it('stores what PostgreSQL would have parsed from the same values as text', async () => {
    const times = [
      '2026-11-25T10:00:00Z',
      '2026-11-25T10:00:00.123Z',
      '2026-11-25T10:00:00.123456Z',
      '2026-11-25T11:30:00.000001+01:30',
      '1999-12-31T23:59:59.999999Z',
      '1969-07-20T20:17:40.5Z',
    ];
    const rows = times.map((at, i) => [
      ['plain', 'é€😀 "quoted" \\ back\nslash\ttab', '', '{"json":[1,2]}', 'x'.repeat(100_000), 'z'][i]!,
      [0, -1, 2 ** 40 + 7, -(2 ** 53 - 1), Number.MAX_SAFE_INTEGER, 42][i]!,
      [0, 12.5, 100, 0.25, 99.75, 33][i]!,
      at,
      Buffer.from([i, 0, 255, 92, 10]),
    ]);
    expect(await inTransaction((runner) => copyRowsIn(runner, 'items', COLUMNS, rows))).toBe(rows.length);

    const stored = await dataSource.query<
      { label: string; n: string; score: number; at: string; bytes: Buffer; seq: string; kind: string }[]
    >(
      `SELECT label, n::text AS n, score, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at, bytes, seq::text AS seq, kind
         FROM items ORDER BY seq`,
    );
    const expectedTimes = await dataSource.query<{ at: string }[]>(
      `SELECT to_char(t::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i`,
      [times],
    );
    expect(stored.map((row) => row.label)).toEqual(rows.map((row) => row[0]));
    expect(stored.map((row) => row.n)).toEqual(rows.map((row) => String(row[1])));
    // (Values a float4 holds exactly.)
    expect(stored.map((row) => row.score)).toEqual(rows.map((row) => row[2]));
    expect(stored.map((row) => row.at)).toEqual(expectedTimes.map((row) => row.at));
    expect(stored.map((row) => row.bytes.toString('hex'))).toEqual(rows.map((row) => (row[4] as Buffer).toString('hex')));
    // Column defaults: the sequence and the partition key.
    expect(stored.map((row) => Number(row.seq))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(stored.map((row) => row.kind))).toEqual(new Set(['a']));
  });

  it('writes NULL for null and undefined, and routes rows to their partitions', async () => {
    const columns: CopyColumn[] = [...COLUMNS, { name: 'kind', type: 'text' }];
    await inTransaction((runner) =>
      copyRowsIn(runner, 'items', columns, [
        [null, undefined, null, null, null, 'a'],
        ['b-row', 1, 1, '2026-01-01T00:00:00Z', Buffer.alloc(0), 'b'],
      ]),
    );
    expect(await dataSource.query('SELECT label, n, score, at, bytes FROM items_a')).toEqual([
      { label: null, n: null, score: null, at: null, bytes: null },
    ]);
    expect(await dataSource.query(`SELECT label, octet_length(bytes) AS len FROM items_b`)).toEqual([{ label: 'b-row', len: 0 }]);
  });

  it('belongs to the transaction: rolled back with it, and a refused row stores none of the batch', async () => {
    await inTransaction((runner) => copyRowsIn(runner, 'items', COLUMNS, [['gone', 1, 1, '2026-01-01T00:00:00Z', Buffer.alloc(1)]]), false);
    expect(await dataSource.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 0 }]);

    const refused = inTransaction((runner) =>
      copyRowsIn(runner, 'items', COLUMNS, [
        ['fine', 1, 50, '2026-01-01T00:00:00Z', Buffer.alloc(1)],
        ['too high', 2, 101, '2026-01-01T00:00:00Z', Buffer.alloc(1)],
      ]),
    );
    await expect(refused).rejects.toMatchObject({ code: '23514' });
    expect(await dataSource.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 0 }]);
    // The pooled connection is usable afterwards.
    await inTransaction((runner) => copyRowsIn(runner, 'items', COLUMNS, [['after', 3, 3, '2026-01-01T00:00:00Z', Buffer.alloc(1)]]));
    expect(await dataSource.query('SELECT label FROM items')).toEqual([{ label: 'after' }]);
  });

  it('refuses values of the wrong type and names the column, before anything is sent', async () => {
    const wrong = (row: unknown[]) => inTransaction((runner) => copyRowsIn(runner, 'items', COLUMNS, [row as never]));
    await expect(wrong([1, 1, 1, '2026-01-01T00:00:00Z', Buffer.alloc(1)])).rejects.toThrow('column label (text) cannot take a number');
    await expect(wrong(['x', 1.5, 1, '2026-01-01T00:00:00Z', Buffer.alloc(1)])).rejects.toThrow('column n (int8)');
    await expect(wrong(['x', 1, 1, 'yesterday', Buffer.alloc(1)])).rejects.toThrow('not an ISO 8601 date-time');
    await expect(wrong(['x', 1, 1, '2026-01-01T00:00:00Z', 'bytes'])).rejects.toThrow('column bytes (bytea) cannot take a string');
    await expect(wrong(['x', 1])).rejects.toThrow('a row has 2 values for 5 columns');
    await expect(
      inTransaction((runner) => copyRowsIn(runner, 'items; DROP TABLE items', COLUMNS, [[null, null, null, null, null]])),
    ).rejects.toThrow('not a plain lower-case SQL identifier');
    expect(await dataSource.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 0 }]);
  });
});
