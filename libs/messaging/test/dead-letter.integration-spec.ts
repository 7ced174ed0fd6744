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
        if ((record.data as DeadLetterV1).consumerGroup === groupId) deadLetters.push(record);
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
});
