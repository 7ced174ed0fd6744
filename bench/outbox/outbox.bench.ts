// bench/outbox — events through the full path (transactional outbox -> relay -> Kafka -> inbox
// consumer -> table) beside a raw kafkajs produce/consume baseline, measured in the same run.
// The producing side (writers + relay, or the raw producer) runs in this process, the consuming
// side in a child process, as they would in two services. Prints throughput and end-to-end
// latency (event creation -> consumer transaction committed). Not a test: nothing is asserted.
//
//   npm run bench:outbox -- [--events 20000] [--rate 2000] [--seconds 10]
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, decodeEvent, encodeEvent, EventTypes, type ProbeV1, type TypedEvent } from '@traceo/contracts';
import { appendToOutbox, createKafka, ensureTopics, InboxConsumer, MESSAGING_MIGRATIONS, OutboxRelay } from '@traceo/messaging';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv, startGroupAtEnd } from '@traceo/testing';
import { Partitioners, type Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';

type Path = 'outbox' | 'raw';
type ToChild = { type: 'stop' };
type FromChild =
  | { type: 'ready' }
  | { type: 'progress'; received: number; lastAt: number }
  | { type: 'done'; received: number; lastAt: number; latencies: number[] };

const args = new Map(process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1] ?? '']] : [])));
const EVENTS = Number(args.get('events') ?? 20000);
const RATE = Number(args.get('rate') ?? 2000);
const SECONDS = Number(args.get('seconds') ?? 10);
const env = loadInfraEnv();

function probe(run: string, sequence: number): TypedEvent {
  return createEvent({
    type: EventTypes.probe,
    source: '/bench/outbox',
    tenantid: `tenant-${sequence % 16}`,
    data: { sequence, producedAt: new Date().toISOString(), run },
  });
}

// ---------------------------------------------------------------- consuming side (child process)
async function consumerMain(path: Path, schema: string, groupId: string): Promise<void> {
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: `bench-consumer-${path}` });
  const latencies: number[] = [];
  let lastAt = 0;
  const seen = (events: readonly TypedEvent[]) => {
    const now = Date.now();
    for (const event of events) latencies.push(now - Date.parse(event.time));
    lastAt = now;
  };
  let stop: () => Promise<void>;
  if (path === 'outbox') {
    const dataSource = await openServiceDatabase({ url: env.databaseUrl, schema, applicationName: 'bench-consumer', poolSize: 4 });
    const consumer = new InboxConsumer({
      dataSource,
      kafka,
      groupId,
      topics: [EventTypes.probe],
      onCommitted: seen,
      handler: async (events, manager) => {
        await manager.query('INSERT INTO bench_received (event_id, sequence) SELECT * FROM unnest($1::text[], $2::int[])', [
          events.map((e) => e.id),
          events.map((e) => (e.data as ProbeV1).sequence),
        ]);
      },
    });
    await consumer.start();
    stop = async () => {
      await consumer.stop();
      await dataSource.destroy();
    };
  } else {
    const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024 });
    await consumer.connect();
    await consumer.subscribe({ topics: [EventTypes.probe] });
    await consumer.run({
      partitionsConsumedConcurrently: 2,
      eachBatch: async ({ batch }) => {
        seen(batch.messages.map((message) => decodeEvent(message.value, batch.topic)));
        return Promise.resolve();
      },
    });
    stop = () => consumer.disconnect();
  }
  const progress = setInterval(() => process.send!({ type: 'progress', received: latencies.length, lastAt } satisfies FromChild), 100);
  process.on('message', (message: ToChild) => {
    if (message.type !== 'stop') return;
    clearInterval(progress);
    void stop().then(() =>
      process.send!({ type: 'done', received: latencies.length, lastAt, latencies } satisfies FromChild, () => process.exit(0)),
    );
  });
  process.send!({ type: 'ready' } satisfies FromChild);
}

// ---------------------------------------------------------------- producing side
interface Result {
  path: string;
  mode: string;
  events: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

class ConsumerProcess {
  private child: ChildProcess;
  received = 0;
  lastAt = 0;
  readonly ready: Promise<void>;
  private done: Promise<{ latencies: number[] }>;

  constructor(path: Path, schema: string, groupId: string) {
    this.child = fork(__filename, ['--role', 'consumer', '--path', path, '--schema', schema, '--group', groupId], {
      execArgv: process.execArgv,
    });
    let markReady!: () => void;
    let markDone!: (value: { latencies: number[] }) => void;
    this.ready = new Promise((resolve) => (markReady = resolve));
    this.done = new Promise((resolve) => (markDone = resolve));
    this.child.on('message', (message: FromChild) => {
      if (message.type === 'ready') markReady();
      else {
        this.received = message.received;
        this.lastAt = message.lastAt;
        if (message.type === 'done') markDone(message);
      }
    });
  }

  async waitFor(count: number, timeoutMs = 180000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received < count) {
      if (Date.now() > deadline) throw new Error(`consumer saw ${this.received} of ${count} events`);
      await sleep(20);
    }
  }

  async finish(): Promise<number[]> {
    this.child.send({ type: 'stop' } satisfies ToChild);
    return (await this.done).latencies;
  }
}

function summarize(path: string, mode: string, latencies: number[], startedAt: number, endedAt: number): Result {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const seconds = (endedAt - startedAt) / 1000;
  return {
    path,
    mode,
    events: sorted.length,
    seconds,
    perSecond: sorted.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Produces `total` events: as fast as possible (rate 0) or paced at `rate` events/s in 10 ms ticks. */
async function drive(total: number, rate: number, write: (events: TypedEvent[]) => Promise<void>, run: string): Promise<void> {
  let sequence = 0;
  if (rate === 0) {
    const writers = Array.from({ length: 4 }, async () => {
      while (sequence < total) {
        const batch: TypedEvent[] = [];
        while (batch.length < 250 && sequence < total) batch.push(probe(run, sequence++));
        await write(batch);
      }
    });
    await Promise.all(writers);
    return;
  }
  const start = Date.now();
  while (sequence < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate) + 1);
    const batch: TypedEvent[] = [];
    while (sequence < due) batch.push(probe(run, sequence++));
    if (batch.length > 0) await write(batch);
    await sleep(10);
  }
}

async function measureOutbox(kafka: Kafka, dataSource: DataSource, schema: string, mode: 'max' | 'paced'): Promise<Result> {
  const run = randomBytes(4).toString('hex');
  const groupId = `bench-outbox-${mode}-${run}`;
  await startGroupAtEnd(kafka, groupId, EventTypes.probe);
  const consumer = new ConsumerProcess('outbox', schema, groupId);
  await consumer.ready;
  const relay = new OutboxRelay({ dataSource, kafka, lockName: `bench.outbox.${schema}`, batchSize: 1000, idleDelayMs: 5 });
  await relay.start();
  const total = mode === 'max' ? EVENTS : RATE * SECONDS;
  const startedAt = Date.now();
  await drive(
    total,
    mode === 'max' ? 0 : RATE,
    async (events) => {
      await dataSource.transaction((manager) => appendToOutbox(manager, events));
      relay.notify();
    },
    run,
  );
  await consumer.waitFor(total);
  const latencies = await consumer.finish();
  await relay.stop();
  return summarize(
    'outbox -> Kafka -> inbox',
    mode === 'max' ? `max (${total})` : `${RATE}/s x ${SECONDS}s`,
    latencies,
    startedAt,
    consumer.lastAt,
  );
}

async function measureRaw(kafka: Kafka, mode: 'max' | 'paced'): Promise<Result> {
  const run = randomBytes(4).toString('hex');
  const groupId = `bench-raw-${mode}-${run}`;
  await startGroupAtEnd(kafka, groupId, EventTypes.probe);
  const consumer = new ConsumerProcess('raw', '-', groupId);
  await consumer.ready;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const total = mode === 'max' ? EVENTS : RATE * SECONDS;
  const startedAt = Date.now();
  let chain = Promise.resolve();
  await drive(
    total,
    mode === 'max' ? 0 : RATE,
    (events) => {
      // one producer, sends serialized as the relay's are
      chain = chain.then(async () => {
        await producer.send({
          topic: EventTypes.probe,
          acks: -1,
          messages: events.map((e) => ({ key: e.tenantid, value: encodeEvent(e) })),
        });
      });
      return chain;
    },
    run,
  );
  await consumer.waitFor(total);
  const latencies = await consumer.finish();
  await producer.disconnect();
  return summarize(
    'raw kafkajs (baseline)',
    mode === 'max' ? `max (${total})` : `${RATE}/s x ${SECONDS}s`,
    latencies,
    startedAt,
    consumer.lastAt,
  );
}

async function main(): Promise<void> {
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'bench-producer' });
  await ensureTopics(kafka);
  const scratch = await createScratchSchema(env.databaseUrl, 'bench_outbox');
  const dataSource = await openServiceDatabase({
    url: env.databaseUrl,
    schema: scratch.schema,
    applicationName: 'bench-producer',
    poolSize: 8,
    migrations: [...MESSAGING_MIGRATIONS],
  });
  await dataSource.query('CREATE TABLE bench_received (event_id text PRIMARY KEY, sequence int NOT NULL)');
  const results: Result[] = [];
  try {
    for (const mode of ['max', 'paced'] as const) {
      results.push(await measureRaw(kafka, mode));
      results.push(await measureOutbox(kafka, dataSource, scratch.schema, mode));
    }
  } finally {
    await dataSource.destroy();
    await scratch.drop();
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(`\nbench/outbox on ${process.version}, ${new Date().toISOString()} (events=${EVENTS}, rate=${RATE}/s for ${SECONDS}s)\n`);
  console.log(line(['path', 'mode', 'events', 'seconds', 'events/s', 'p50 ms', 'p99 ms', 'max ms']));
  console.log(line(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const r of results) {
    console.log(
      line([
        r.path,
        r.mode,
        String(r.events),
        r.seconds.toFixed(2),
        r.perSecond.toFixed(0),
        r.p50.toFixed(0),
        r.p99.toFixed(0),
        r.max.toFixed(0),
      ]),
    );
  }
}

if (args.get('role') === 'consumer') {
  void consumerMain(args.get('path') as Path, args.get('schema')!, args.get('group')!);
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
