import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { OutboxRelay } from './outbox-relay';

// The relay's polling rhythm, with an in-memory outbox and producer (the real PostgreSQL and Kafka
// path is covered by the exactly-once integration test): a notify wakes the idle relay after
// lingerMs, so commits close together share one read, one send and one delete.

interface Row {
  seq: string;
  event_id: string;
  topic: string;
  message_key: string;
  payload: string;
}

function fakes() {
  const outbox: Row[] = [];
  const statements: string[] = [];
  const sent: number[] = [];
  let seq = 0;
  const connection = {
    query: ({ text, values }: { text: string; values: unknown[] }) => {
      statements.push(text.split(' ')[0]!);
      if (text.startsWith('SELECT')) return Promise.resolve({ rows: outbox.slice(0, Number(values[0])), rowCount: 0 });
      const deleted = new Set(values[0] as string[]);
      outbox.splice(0, outbox.length, ...outbox.filter((row) => !deleted.has(row.seq)));
      return Promise.resolve({ rows: [], rowCount: deleted.size });
    },
  };
  const runner = {
    startTransaction: () => Promise.reject(new Error('the relay needs no transaction')),
    databaseConnection: connection,
    connect: () => Promise.resolve(),
    release: () => Promise.resolve(),
    query: (text: string) => Promise.resolve(text.includes('pg_try_advisory_lock') ? [{ locked: true }] : []),
  };
  const producer = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    sendBatch: ({ topicMessages }: { topicMessages: { messages: unknown[] }[] }) => {
      sent.push(topicMessages.reduce((n, t) => n + t.messages.length, 0));
      return Promise.resolve([]);
    },
  };
  return {
    dataSource: { createQueryRunner: () => runner } as unknown as DataSource,
    kafka: { producer: () => producer } as unknown as Kafka,
    commit: () => {
      seq += 1;
      outbox.push({ seq: String(seq), event_id: `e-${seq}`, topic: 't', message_key: 'k', payload: '{}' });
    },
    statements,
    sent,
  };
}

describe('OutboxRelay polling', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('after a notify, waits lingerMs and moves what was committed meanwhile in one batch', async () => {
    const f = fakes();
    const relay = new OutboxRelay({ dataSource: f.dataSource, kafka: f.kafka, lockName: 'it', idleDelayMs: 1000, lingerMs: 5 });
    await relay.start();
    await jest.advanceTimersByTimeAsync(0);
    const pollsWhenIdle = f.statements.length;
    expect(f.statements).toEqual(['SELECT']);

    f.commit();
    relay.notify();
    await jest.advanceTimersByTimeAsync(2);
    f.commit();
    relay.notify();
    f.commit();
    relay.notify();
    // Not yet: the first notify's linger has not passed.
    expect(f.statements.length).toBe(pollsWhenIdle);
    await jest.advanceTimersByTimeAsync(3);
    expect(f.sent).toEqual([3]);
    // One read and one delete for the three commits (fewer than a batch: the relay idles again).
    expect(f.statements).toEqual(['SELECT', 'SELECT', 'DELETE']);

    await jest.advanceTimersByTimeAsync(0);
    const stopped = relay.stop();
    await jest.advanceTimersByTimeAsync(0);
    await stopped;
  });

  it('without a notify, polls again after idleDelayMs', async () => {
    const f = fakes();
    const relay = new OutboxRelay({ dataSource: f.dataSource, kafka: f.kafka, lockName: 'it', idleDelayMs: 50, lingerMs: 5 });
    await relay.start();
    await jest.advanceTimersByTimeAsync(0);
    f.commit();
    await jest.advanceTimersByTimeAsync(49);
    expect(f.sent).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(f.sent).toEqual([1]);
    const stopped = relay.stop();
    await jest.advanceTimersByTimeAsync(0);
    await stopped;
  });

  it('stop wakes an idle relay at once and drains what is committed', async () => {
    const f = fakes();
    const relay = new OutboxRelay({ dataSource: f.dataSource, kafka: f.kafka, lockName: 'it', idleDelayMs: 60_000, lingerMs: 5 });
    await relay.start();
    await jest.advanceTimersByTimeAsync(0);
    f.commit();
    f.commit();
    const stopped = relay.stop();
    await jest.advanceTimersByTimeAsync(0);
    await stopped;
    expect(f.sent.reduce((a, b) => a + b, 0)).toBe(2);
  });
});
