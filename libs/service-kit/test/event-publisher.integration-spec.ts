import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv } from '@traceo/testing';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { assembleServiceRuntime, baseConfigSchema, EventPublisher, loadConfig } from '../src';

// EventPublisher's writes without a caller transaction (the audit record of every HTTP request) on
// PostgreSQL: concurrent callers share INSERT statements, each returns once its events are committed,
// a deferred write joins the next one, and a bad event fails only its own caller. The outbox relay is never started: published events stay in the table.

describe('EventPublisher group commit, against the PostgreSQL outbox', () => {
  const infra = loadInfraEnv();
  let scratch: { schema: string; drop: () => Promise<void> };
  let dataSource: DataSource;
  let publisher: EventPublisher;
  /** Outbox INSERT statements so far, as the publisher's own metric counts them. */
  let outboxWrites: () => Promise<number>;
  let writesBefore = 0;

  beforeAll(async () => {
    scratch = await createScratchSchema(infra.databaseUrl, 'it_event_publisher');
    dataSource = await openServiceDatabase({
      url: infra.databaseUrl,
      schema: scratch.schema,
      applicationName: 'it-event-publisher',
      migrations: [...MESSAGING_MIGRATIONS],
    });
    const config = loadConfig(baseConfigSchema, {
      TRACEO_HTTP_PORT: '1',
      TRACEO_DATABASE_URL: infra.databaseUrl,
      TRACEO_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      TRACEO_LOG_LEVEL: 'warn',
      TRACEO_API_KEYS: 'it-client:it-event-publisher-test-key-not-used-for-requests',
    });
    const runtime = assembleServiceRuntime('it-event-publisher', config, { dataSource, logger: pino({ level: 'silent' }) });
    publisher = new EventPublisher(runtime);
    outboxWrites = async () => {
      const metric = await runtime.metrics.getSingleMetric('traceo_event_publisher_group_commits_total')!.get();
      return (metric.values[0]?.value ?? 0) - writesBefore;
    };
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await scratch?.drop();
  });

  beforeEach(async () => {
    await dataSource.query('DELETE FROM outbox');
    writesBefore = 0;
    writesBefore = await outboxWrites();
  });

  const audit = (n: number, options: { deferred?: boolean } = {}) =>
    publisher.audit(
      {
        actor: { type: 'service', id: 'it' },
        action: 'api.request',
        resource: { type: 'endpoint', id: `/x/${n}` },
        status: 'success',
      },
      options,
    );

  async function outboxed(): Promise<string[]> {
    const rows = await dataSource.query<{ payload: string }[]>('SELECT payload FROM outbox ORDER BY seq');
    return rows.map((row) => (JSON.parse(row.payload) as { data: { resource: { id: string } } }).data.resource.id);
  }

  it('commits concurrent callers together, every event exactly once, each caller after its commit', async () => {
    const committedWhenResolved: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        audit(n).then(async () => {
          const [row] = await dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox WHERE payload LIKE $1`, [
            `%"/x/${n}"%`,
          ]);
          committedWhenResolved.push(row!.n);
        }),
      ),
    );
    expect((await outboxed()).sort()).toEqual(Array.from({ length: 200 }, (_, n) => `/x/${n}`).sort());
    expect(committedWhenResolved).toEqual(Array.from({ length: 200 }, () => 1));
    // The first caller writes alone; those arriving meanwhile share the next statements.
    const writes = await outboxWrites();
    expect(writes).toBeGreaterThanOrEqual(2);
    expect(writes).toBeLessThan(20);
  });

  it('a write alone still gets its own statement at once, outside any transaction', async () => {
    const transaction = jest.spyOn(dataSource, 'transaction');
    await audit(1);
    expect(await outboxWrites()).toBe(1);
    expect(transaction).not.toHaveBeenCalled();
    expect(await outboxed()).toEqual(['/x/1']);
  });

  it('a deferred write joins the next write instead of adding a statement', async () => {
    let deferredDone = false;
    const deferred = audit(1, { deferred: true }).then(() => (deferredDone = true));
    // Nothing is written at once for it ...
    await new Promise((resolve) => setImmediate(resolve));
    expect(deferredDone).toBe(false);
    expect(await outboxWrites()).toBe(0);
    // ... and the next caller's statement carries both.
    await audit(2);
    await deferred;
    expect(await outboxWrites()).toBe(1);
    expect((await outboxed()).sort()).toEqual(['/x/1', '/x/2']);
  });

  it('deferred writes alone are committed without waiting for another caller, in one statement', async () => {
    // Resolving at all shows it: nothing else writes here.
    await Promise.all([audit(1, { deferred: true }), audit(2, { deferred: true }), audit(3, { deferred: true })]);
    expect(await outboxWrites()).toBe(1);
    expect((await outboxed()).sort()).toEqual(['/x/1', '/x/2', '/x/3']);
  });

  it('an event that cannot be written fails only its own caller', async () => {
    const duplicate = publisher.event('traceo.audit.record.v1', 'acme', {
      occurredAt: new Date().toISOString(),
      actor: { type: 'service', id: 'it' },
      action: 'api.request',
      resource: { type: 'endpoint', id: '/dup' },
      status: 'success',
    });
    await publisher.publish([duplicate]);
    const outcomes = await Promise.allSettled([audit(1), publisher.publish([duplicate]), audit(2), audit(3)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((await outboxed()).sort()).toEqual(['/dup', '/x/1', '/x/2', '/x/3']);
  });
});
