import { createEvent, EventTypes } from '@traceo/contracts';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { MESSAGING_MIGRATIONS, writeToOutboxIf } from '../src';

// writeToOutboxIf on PostgreSQL: a change and the events describing it in one statement, the events
// written exactly when the change matched a row.

describe('writeToOutboxIf, against the PostgreSQL outbox', () => {
  const infra = loadInfraEnv();
  let scratch: { schema: string; drop: () => Promise<void> };
  let dataSource: DataSource;

  beforeAll(async () => {
    scratch = await createScratchSchema(infra.databaseUrl, 'it_outbox_write_if');
    dataSource = await openServiceDatabase({
      url: infra.databaseUrl,
      schema: scratch.schema,
      applicationName: 'it-outbox-write-if',
      migrations: [...MESSAGING_MIGRATIONS],
    });
    await dataSource.query('CREATE TABLE counters (id text PRIMARY KEY, n int NOT NULL, cap int NOT NULL)');
    await dataSource.query(`INSERT INTO counters VALUES ('a', 0, 3)`);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await scratch?.drop();
  });

  const probe = (n: number) =>
    createEvent({
      type: EventTypes.probe,
      source: '/it/outbox-write-if',
      tenantid: 'acme',
      data: { sequence: n, producedAt: new Date().toISOString(), run: 'it' },
    });
  const bump = `UPDATE counters SET n = n + $6 WHERE id = $5 AND n + $6 <= cap RETURNING 1`;

  async function outboxIds(): Promise<string[]> {
    return (await dataSource.query<{ event_id: string }[]>('SELECT event_id FROM outbox ORDER BY seq')).map((row) => row.event_id);
  }

  it('writes the events with the change when the condition matches, and neither when it does not', async () => {
    const first = [probe(1), probe(2)];
    expect(await writeToOutboxIf(dataSource, bump, ['a', 2], first)).toBe(true);
    expect(await outboxIds()).toEqual(first.map((e) => e.id));

    // 2 + 2 would pass the cap of 3: no count, no events.
    expect(await writeToOutboxIf(dataSource, bump, ['a', 2], [probe(3)])).toBe(false);
    expect(await writeToOutboxIf(dataSource, bump, ['missing', 1], [probe(4)])).toBe(false);
    expect(await outboxIds()).toEqual(first.map((e) => e.id));
    const [row] = await dataSource.query<{ n: number }[]>(`SELECT n FROM counters WHERE id = 'a'`);
    expect(row!.n).toBe(2);

    const last = probe(5);
    expect(await writeToOutboxIf(dataSource, bump, ['a', 1], [last])).toBe(true);
    expect(await outboxIds()).toEqual([...first, last].map((e) => e.id));
  });
});
