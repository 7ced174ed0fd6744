import { randomBytes } from 'node:crypto';
import { createEvent, decodeEvent, EventTypes, TOPICS, type DeadLetterV1, type ProbeV1, type TypedEvent } from '@traceo/contracts';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv, waitFor } from '@traceo/testing';
import { Partitioners, type Consumer, type Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { createKafka, deleteNamespaceTopics, ensureTopics, InboxConsumer, MESSAGING_MIGRATIONS, OutboxRelay, writeToOutbox } from '../src';

/** Sum of the end offsets of a topic's partitions (how many records it has ever held). */
async function endOffset(kafka: Kafka, topic: string): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + BigInt(p.high), 0n);
  } finally {
    await admin.disconnect();
  }
}

describe('Kafka namespace (TRACEO_KAFKA_NAMESPACE)', () => {
  const env = loadInfraEnv();
  const run = randomBytes(4).toString('hex');
  const namespace = `it-ns-${run}.`;
  const groupId = `it-namespace-${run}`;
  let kafka: Kafka;
  let shared: Kafka;
  let dataSource: DataSource;
  let scratch: { schema: string; drop: () => Promise<void> };
  let relay: OutboxRelay;
  let consumer: InboxConsumer;
  let deadLetterReader: Consumer | undefined;
  const applied: TypedEvent[] = [];
  const deadLetters: TypedEvent[] = [];

  beforeAll(async () => {
    kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'namespace-test', namespace });
    shared = createKafka({ brokers: env.kafkaBrokers, clientId: 'namespace-test-shared' });
    await ensureTopics(shared);
    scratch = await createScratchSchema(env.databaseUrl, 'it_ns');
    dataSource = await openServiceDatabase({
      url: env.databaseUrl,
      schema: scratch.schema,
      applicationName: 'namespace-test',
      migrations: [...MESSAGING_MIGRATIONS],
    });
  });

  afterAll(async () => {
    await consumer?.stop();
    await relay?.stop();
    await deadLetterReader?.disconnect();
    await dataSource?.destroy();
    await scratch?.drop();
    if (kafka) await deleteNamespaceTopics(kafka).catch(() => undefined);
  });

  it('creates every topic of the contracts under the namespace', async () => {
    const created = await ensureTopics(kafka);
    expect(created.sort()).toEqual(TOPICS.map((topic) => `${namespace}${topic.name}`).sort());
    expect(await ensureTopics(kafka)).toEqual([]);
  });

  it('publishes, consumes and dead-letters inside the namespace only, and its consumer group carries the namespace', async () => {
    const sharedProbesBefore = await endOffset(shared, EventTypes.probe);
    const sharedDeadLettersBefore = await endOffset(shared, EventTypes.deadLetter);

    deadLetterReader = kafka.consumer({ groupId: `${namespace}it-namespace-reader-${run}` });
    await deadLetterReader.connect();
    await deadLetterReader.subscribe({ topics: [`${namespace}${EventTypes.deadLetter}`], fromBeginning: true });
    await deadLetterReader.run({
      eachMessage: ({ message }) => {
        deadLetters.push(decodeEvent(message.value, EventTypes.deadLetter));
        return Promise.resolve();
      },
    });

    relay = new OutboxRelay({ dataSource, kafka, lockName: `namespace-${run}` });
    await relay.start();
    consumer = new InboxConsumer({
      dataSource,
      kafka,
      groupId,
      topics: [EventTypes.probe],
      handler: (events) => {
        applied.push(...events);
        return Promise.resolve();
      },
    });
    await consumer.start();

    const probes = [1, 2, 3].map((sequence) =>
      createEvent({
        type: EventTypes.probe,
        source: '/tests/namespace',
        tenantid: 'acme',
        data: { sequence, producedAt: new Date().toISOString(), run },
      }),
    );
    await writeToOutbox(dataSource, probes);
    relay.notify();
    await waitFor(async () => Promise.resolve(applied.length >= 3), 'the namespaced probes applied', 60_000);
    expect(applied.map((event) => (event.data as ProbeV1).sequence).sort()).toEqual([1, 2, 3]);
    // Events name the contracts' topic, whatever the broker calls it.
    expect(applied.every((event) => event.type === EventTypes.probe)).toBe(true);

    // A record that is not an event on the namespaced probe topic: dead-lettered to the namespaced topic.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: `${namespace}${EventTypes.probe}`, messages: [{ key: 'acme', value: '{not json' }] });
    await producer.disconnect();
    const deadLetter = await waitFor(
      async () => Promise.resolve(deadLetters.find((record) => (record.data as DeadLetterV1).consumerGroup === groupId)),
      'the dead letter in the namespace',
      60_000,
    );
    expect((deadLetter.data as DeadLetterV1).originalTopic).toBe(EventTypes.probe);

    // The shared (un-namespaced) topics got nothing from any of this.
    expect(await endOffset(shared, EventTypes.probe)).toBe(sharedProbesBefore);
    expect(await endOffset(shared, EventTypes.deadLetter)).toBe(sharedDeadLettersBefore);

    const admin = shared.admin();
    await admin.connect();
    try {
      const groups = (await admin.listGroups()).groups.map((group) => group.groupId);
      expect(groups).toContain(`${namespace}${groupId}`);
      expect(groups).not.toContain(groupId);
    } finally {
      await admin.disconnect();
    }
  });

  it('deletes the namespace’s topics and nothing else, and refuses a client without a namespace', async () => {
    await consumer.stop();
    await relay.stop();
    await deadLetterReader?.disconnect();
    deadLetterReader = undefined;
    const deleted = await deleteNamespaceTopics(kafka);
    expect(deleted.sort()).toEqual(TOPICS.map((topic) => `${namespace}${topic.name}`).sort());
    const admin = shared.admin();
    await admin.connect();
    try {
      const remaining = await admin.listTopics();
      expect(remaining.filter((topic) => topic.startsWith(namespace))).toEqual([]);
      expect(remaining).toContain(EventTypes.probe);
    } finally {
      await admin.disconnect();
    }
    await expect(deleteNamespaceTopics(shared)).rejects.toThrow(/needs a client with a namespace/);
  });

  it('refuses a malformed namespace', () => {
    for (const bad of ['staging', 'Staging.', 'a/b.', '.', `${'x'.repeat(48)}.`]) {
      expect(() => createKafka({ brokers: env.kafkaBrokers, clientId: 'bad', namespace: bad })).toThrow(/Kafka namespace/);
    }
  });
});
