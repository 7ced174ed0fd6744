import { randomBytes } from 'node:crypto';
import { createEvent, encodeEvent, EventTypes, type TypedEvent } from '@traceo/contracts';
import { loadInfraEnv, waitFor } from '@traceo/testing';
import type { Kafka, Producer } from 'kafkajs';
import { createKafka, deleteNamespaceTopics, ensureTopics, KafkaBroadcastListener } from '../src';

type Shredded = TypedEvent<'traceo.crypto.subject-shredded.v1'>;

/** Every listener sees every event (unlike a consumer group), from the end of the topic, on the real broker. */
describe('KafkaBroadcastListener', () => {
  const env = loadInfraEnv();
  const run = randomBytes(4).toString('hex');
  let kafka: Kafka;
  let producer: Producer;

  const shredded = (subjectId: string) =>
    createEvent({
      type: EventTypes.cryptoSubjectShredded,
      source: 'broadcast-test',
      tenantid: `t-${run}`,
      data: { occurredAt: new Date().toISOString(), keyringId: 'subjects', subjectId },
    });
  const send = (event: Shredded) =>
    producer.send({
      topic: `it-${run}.${EventTypes.cryptoSubjectShredded}`,
      messages: [{ key: event.tenantid, value: encodeEvent(event) }],
    });
  const listen = (seen: string[], changes: boolean[] = [], groupPrefix = `it-broadcast-${run}`) =>
    new KafkaBroadcastListener({
      kafka,
      type: EventTypes.cryptoSubjectShredded,
      groupPrefix,
      onEvent: (event) => seen.push(event.data.subjectId),
      onListeningChange: (listening) => changes.push(listening),
    });

  beforeAll(async () => {
    kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'broadcast-test', namespace: `it-${run}.` });
    await ensureTopics(kafka);
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    if (kafka) await deleteNamespaceTopics(kafka);
  });

  it('delivers each event to every listener, only events after it joined, and says when it listens', async () => {
    await send(shredded('before-anyone-listened'));
    const first: string[] = [];
    const second: string[] = [];
    const changes: boolean[] = [];
    const a = listen(first, changes);
    const b = listen(second);
    await Promise.all([a.start(), b.start()]);
    expect([a.listening, b.listening]).toEqual([true, true]);
    expect(changes).toEqual([true]);

    await send(shredded('ada'));
    await send(shredded('grace'));
    await waitFor(
      async () => (first.length === 2 && second.length === 2 ? Promise.resolve(true) : Promise.resolve(undefined)),
      'both',
      15_000,
      50,
    );
    expect(first).toEqual(['ada', 'grace']);
    expect(second).toEqual(['ada', 'grace']);

    // A message that is not a valid event of the type is skipped, not delivered, and the listener goes on.
    await producer.send({
      topic: `it-${run}.${EventTypes.cryptoSubjectShredded}`,
      messages: [{ value: Buffer.from('{"not":"an event"}') }],
    });
    await send(shredded('linus'));
    await waitFor(async () => (first.length === 3 ? Promise.resolve(true) : Promise.resolve(undefined)), 'the next event', 15_000, 50);
    expect(first).toEqual(['ada', 'grace', 'linus']);

    await a.stop();
    await b.stop();
    expect(a.listening).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('a stop that comes while start is still connecting leaves no consumer running in the group', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const seen: string[] = [];
      const listener = listen(seen, [], `it-broadcast-stopped-${run}`);
      const starting = listener.start(5_000);
      // Let it create its consumer and begin connecting, then stop before it joins.
      await new Promise((resolve) => setTimeout(resolve, 20 + 30 * attempt));
      await listener.stop();
      await starting;
      expect(listener.listening).toBe(false);
    }
    // No member of any of this run's listener groups is left (a leaked consumer would still be one).
    const admin = kafka.admin();
    await admin.connect();
    try {
      const groups = (await admin.listGroups()).groups
        .map((group) => group.groupId)
        .filter((id) => id.includes(`it-broadcast-stopped-${run}`));
      const described = groups.length === 0 ? [] : (await admin.describeGroups(groups)).groups;
      expect(described.flatMap((group) => group.members.map((member) => `${group.groupId} ${member.memberId}`))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
