import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createEvent, encodeEvent, EventTypes, type TypedEvent } from '@traceo/contracts';
import { appendToOutbox, createKafka, ensureTopics, MESSAGING_MIGRATIONS } from '../src';
import { openServiceDatabase } from '@traceo/persistence';
import {
  consumerLag,
  createScratchSchema,
  loadInfraEnv,
  startGroupAtEnd,
  startTsProcess,
  waitFor,
  type RunningProcess,
} from '@traceo/testing';
import { Partitioners, type Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';

const EVENTS = 10_000;
const fixture = (name: string) => join(__dirname, 'fixtures', name);

describe('outbox -> Kafka -> inbox against real PostgreSQL and Kafka', () => {
  const env = loadInfraEnv();
  let kafka: Kafka;
  let dataSource: DataSource;
  let scratch: { schema: string; drop: () => Promise<void> };
  const processes: RunningProcess[] = [];

  beforeAll(async () => {
    kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'exactly-once-test' });
    await ensureTopics(kafka);
    scratch = await createScratchSchema(env.databaseUrl, 'it_outbox');
    dataSource = await openServiceDatabase({
      url: env.databaseUrl,
      schema: scratch.schema,
      applicationName: 'exactly-once-test',
      migrations: [...MESSAGING_MIGRATIONS],
    });
    await dataSource.query('CREATE TABLE received (id bigserial PRIMARY KEY, event_id text NOT NULL, sequence int NOT NULL)');
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await dataSource?.destroy();
    await scratch?.drop();
  });

  function start(name: string, extra: Record<string, string>): RunningProcess {
    const running = startTsProcess(fixture(name), { FIXTURE_SCHEMA: scratch.schema, ...extra });
    processes.push(running);
    return running;
  }

  it.each([
    ['one batch at a time', false],
    ['pipelined (fetching while applying)', true],
  ])(
    'delivers 10,000 events exactly once, in order per tenant, through a relay crash, a consumer crash and redelivered duplicates: %s',
    async (_mode, pipelined) => {
      const run = randomBytes(6).toString('hex');
      const mode: Record<string, string> = pipelined ? { PIPELINED: '1' } : {};
      const groupId = `it-exactly-once-${run}`;
      await startGroupAtEnd(kafka, groupId, EventTypes.probe);
      const offsetsBefore = await totalOffset(kafka);

      const events: TypedEvent[] = [];
      for (let sequence = 0; sequence < EVENTS; sequence += 1) {
        events.push(
          createEvent({
            type: EventTypes.probe,
            source: '/tests/exactly-once',
            tenantid: `tenant-${sequence % 7}`,
            data: { sequence, producedAt: new Date().toISOString(), run },
          }),
        );
      }
      for (let i = 0; i < EVENTS; i += 500) {
        await dataSource.transaction((manager) => appendToOutbox(manager, events.slice(i, i + 500)));
      }

      // (b) the first consumer dies after its 4th batch committed in PostgreSQL, before the offset commit.
      const firstConsumer = start('consumer.process.ts', { GROUP_ID: groupId, CRASH_BEFORE_COMMIT: '4', ...mode });
      await firstConsumer.ready;
      // (a) the first relay dies after Kafka accepted its 5th batch, before the outbox delete committed.
      const firstRelay = start('relay.process.ts', { CRASH_AFTER_SENDS: '5', BATCH_SIZE: '250' });
      expect((await firstRelay.exited).signal).toBe('SIGKILL');
      expect(await outboxCount()).toBeGreaterThan(EVENTS - 5 * 250 - 1);

      const secondRelay = start('relay.process.ts', { BATCH_SIZE: '250' });
      await secondRelay.ready;
      expect((await firstConsumer.exited).signal).toBe('SIGKILL');
      const secondConsumer = start('consumer.process.ts', { GROUP_ID: groupId, ...mode });
      await secondConsumer.ready;
      await waitFor(async () => (await outboxCount()) === 0, 'the outbox to drain', 90_000);

      // (c) the same events delivered again, byte for byte.
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({
        topic: EventTypes.probe,
        messages: events.slice(0, 500).map((event) => ({ key: event.tenantid, value: encodeEvent(event) })),
      });
      await producer.disconnect();

      await waitFor(
        async () => (await consumerLag(kafka, groupId, EventTypes.probe)) === 0 || undefined,
        'the consumer to catch up',
        90_000,
        250,
      );
      const [row] = await dataSource.query<{ total: number; distinct_ids: number; first: number; last: number }[]>(
        `SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct_ids, min(sequence) AS first, max(sequence) AS last
         FROM received WHERE event_id = ANY($1::text[])`,
        [events.map((event) => event.id)],
      );
      // Each tenant's events (one partition) took effect in the order they were produced.
      const [order] = await dataSource.query<{ out_of_order: number }[]>(
        `SELECT count(*)::int AS out_of_order FROM (
         SELECT sequence, lag(sequence) OVER (PARTITION BY sequence % 7 ORDER BY id) AS previous
           FROM received WHERE event_id = ANY($1::text[])) AS r
        WHERE previous IS NOT NULL AND sequence < previous`,
        [events.map((event) => event.id)],
      );
      expect(order!.out_of_order).toBe(0);
      const [inbox] = await dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM inbox WHERE consumer_group = $1', [groupId]);
      const delivered = (await totalOffset(kafka)) - offsetsBefore;
      console.log(
        `exactly-once: ${EVENTS} events, ${delivered} Kafka deliveries (duplicates on the wire: ${delivered - EVENTS}), ${row!.total} effects`,
      );

      expect(delivered).toBeGreaterThan(EVENTS + 500);
      expect(row).toEqual({ total: EVENTS, distinct_ids: EVENTS, first: 0, last: EVENTS - 1 });
      expect(inbox!.n).toBe(EVENTS);

      await Promise.all([secondRelay.stop(), secondConsumer.stop()]).then((exits) => exits.forEach((exit) => expect(exit.code).toBe(0)));
    },
  );

  async function outboxCount(): Promise<number> {
    const [row] = await dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM outbox');
    return row!.n;
  }
});

async function totalOffset(kafka: Kafka): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(EventTypes.probe);
    return offsets.reduce((sum, { high }) => sum + Number(high), 0);
  } finally {
    await admin.disconnect();
  }
}
