import { randomBytes } from 'node:crypto';
import { createEvent, decodeEvent, encodeEvent, EventTypes, type DeadLetterV1, type ProbeV1, type TypedEvent } from '@traceo/contracts';
import { createKafka, ensureTopics, InboxConsumer, MESSAGING_MIGRATIONS } from '../src';
import { openServiceDatabase } from '@traceo/persistence';
import { consumerLag, createScratchSchema, loadInfraEnv, startGroupAtEnd, waitFor } from '@traceo/testing';
import { Partitioners, type Consumer, type Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';

describe('dead-letter topic', () => {
  const env = loadInfraEnv();
  const run = randomBytes(6).toString('hex');
  const groupId = `it-dead-letter-${run}`;
  let kafka: Kafka;
  let dataSource: DataSource;
  let scratch: { schema: string; drop: () => Promise<void> };
  let consumer: InboxConsumer;
  let deadLetterReader: Consumer;
  const deadLetters: TypedEvent[] = [];
  /** Dead letters of this run's other consumer groups. */
  const otherDeadLetters: TypedEvent[] = [];

  beforeAll(async () => {
    kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'dead-letter-test' });
    await ensureTopics(kafka);
    scratch = await createScratchSchema(env.databaseUrl, 'it_dlq');
    dataSource = await openServiceDatabase({
      url: env.databaseUrl,
      schema: scratch.schema,
      applicationName: 'dead-letter-test',
      migrations: [...MESSAGING_MIGRATIONS],
    });
    await dataSource.query('CREATE TABLE received (event_id text PRIMARY KEY, sequence int NOT NULL)');

    const readerGroup = `it-dead-letter-reader-${run}`;
    await startGroupAtEnd(kafka, readerGroup, EventTypes.deadLetter);
    deadLetterReader = kafka.consumer({ groupId: readerGroup });
    await deadLetterReader.connect();
    await deadLetterReader.subscribe({ topics: [EventTypes.deadLetter] });
    await deadLetterReader.run({
      eachMessage: ({ message }) => {
        const record = decodeEvent(message.value, EventTypes.deadLetter);
        const group = (record.data as DeadLetterV1).consumerGroup;
        if (group === groupId) deadLetters.push(record);
        else if (group.endsWith(run)) otherDeadLetters.push(record);
        return Promise.resolve();
      },
    });

    await startGroupAtEnd(kafka, groupId, EventTypes.probe);
    consumer = new InboxConsumer({
      dataSource,
      kafka,
      groupId,
      topics: [EventTypes.probe],
      maxAttempts: 2,
      backoffMs: 10,
      handler: async (events, manager) => {
        for (const event of events) {
          const { sequence } = event.data as ProbeV1;
          if (sequence === 666) throw new Error('handler cannot process sequence 666');
          await manager.query('INSERT INTO received (event_id, sequence) VALUES ($1, $2)', [event.id, sequence]);
        }
      },
    });
    await consumer.start();
  });

  afterAll(async () => {
    await consumer?.stop();
    await deadLetterReader?.disconnect();
    await dataSource?.destroy();
    await scratch?.drop();
  });

  it('dead-letters bad JSON, a wrong schema, an unknown type and a failing handler with their codes, and keeps consuming', async () => {
    const probe = (sequence: number) =>
      createEvent({
        type: EventTypes.probe,
        source: '/tests/dlq',
        tenantid: 'acme',
        data: { sequence, producedAt: new Date().toISOString(), run },
      });
    const before = probe(1);
    const poison = probe(666);
    const after = probe(2);
    const badJson = Buffer.from('{"specversion":"1.0",');
    const wrongSchema = Buffer.from(JSON.stringify({ ...probe(3), data: { sequence: -1, run } }));
    const unknownType = Buffer.from(JSON.stringify({ ...probe(4), type: 'traceo.platform.unheard-of.v1' }));

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    // One key, so all of them land on one partition in this order.
    await producer.send({
      topic: EventTypes.probe,
      messages: [encodeEvent(before), badJson, wrongSchema, unknownType, encodeEvent(poison), encodeEvent(after)].map((value) => ({
        key: 'acme',
        value,
      })),
    });
    await producer.disconnect();

    await waitFor(() => Promise.resolve(deadLetters.length >= 4 || undefined), 'four dead letters', 30_000);
    await waitFor(
      async () => (await consumerLag(kafka, groupId, EventTypes.probe)) === 0 || undefined,
      'the consumer to commit past them',
      30_000,
    );

    const byCode = new Map(deadLetters.map((record) => [(record.data as DeadLetterV1).errorCode, record.data as DeadLetterV1]));
    expect([...byCode.keys()].sort()).toEqual([
      'CONSUMER.HANDLER_FAILED',
      'EVENT.MALFORMED_JSON',
      'EVENT.SCHEMA_VIOLATION',
      'EVENT.UNKNOWN_TYPE',
    ]);
    expect(Buffer.from(byCode.get('EVENT.MALFORMED_JSON')!.originalValueBase64, 'base64')).toEqual(badJson);
    expect(byCode.get('CONSUMER.HANDLER_FAILED')).toMatchObject({
      originalEventId: poison.id,
      attempts: 2,
      originalTopic: EventTypes.probe,
    });
    expect(deadLetters).toHaveLength(4);

    const received = await dataSource.query<{ sequence: number }[]>('SELECT sequence FROM received ORDER BY sequence');
    expect(received.map((row) => row.sequence)).toEqual([1, 2]);
  });

  it.each([
    ['one batch at a time', false],
    ['pipelined', true],
  ])('dead-letters nothing and commits nothing when it stops while the database is unreachable: %s', async (_mode, pipelined) => {
    const stoppingGroup = `it-dead-letter-stopping-${pipelined ? 'p' : 's'}-${run}`;
    await startGroupAtEnd(kafka, stoppingGroup, EventTypes.probe);
    let attempts = 0;
    const outage = new InboxConsumer({
      dataSource,
      kafka,
      groupId: stoppingGroup,
      topics: [EventTypes.probe],
      maxAttempts: 2,
      backoffMs: 10,
      pipelined,
      handler: () => {
        attempts += 1;
        // What node-postgres throws when PostgreSQL is down: transient, so retried while running.
        return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
      },
    });
    await outage.start();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const events = [0, 1, 2].map((sequence) =>
      createEvent({
        type: EventTypes.probe,
        source: '/tests/stopping',
        tenantid: `tenant-${run}`,
        data: { sequence, producedAt: new Date().toISOString(), run },
      }),
    );
    await producer.send({ topic: EventTypes.probe, messages: events.map((event) => ({ key: event.tenantid, value: encodeEvent(event) })) });
    await producer.disconnect();
    await waitFor(() => Promise.resolve(attempts >= 3 || undefined), 'the handler to be retried', 30_000, 20);
    await outage.stop();
    // Anything dead-lettered would have reached the reader by now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(otherDeadLetters.filter((record) => (record.data as DeadLetterV1).consumerGroup === stoppingGroup)).toHaveLength(0);
    expect(await consumerLag(kafka, stoppingGroup, EventTypes.probe)).toBe(3);
  });
});
