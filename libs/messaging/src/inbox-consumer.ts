import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, decodeEvent, encodeEvent, EventTypes, PLATFORM_TENANT, type TypedEvent } from '@traceo/contracts';
import { runPrepared } from '@traceo/persistence';
import { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { brokerName, contractTopic, createIdempotentProducer } from './kafka';
import { silentLogger, type MessagingLogger } from './logger';
import { MessagingMetrics } from './metrics';
import { errorCodeOf, isTransient } from './transient-error';

/**
 * Applies new events inside the transaction that records them in the inbox. It receives each event
 * id at most once per consumer group, however often Kafka delivers it.
 */
export type InboxHandler = (events: readonly TypedEvent[], manager: EntityManager) => Promise<void>;

export interface InboxConsumerOptions {
  readonly dataSource: DataSource;
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: InboxHandler;
  /** Attempts for an event whose handler fails with a non-transient error, before dead-lettering it. */
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  /** Batches (one per partition at most) applied at the same time, each in its own transaction; default 6. */
  readonly partitionsConsumedConcurrently?: number;
  readonly fromBeginning?: boolean;
  readonly logger?: MessagingLogger;
  readonly metrics?: MessagingMetrics;
  /** Called after the transaction that applied these events committed (for measurements). */
  readonly onCommitted?: (events: readonly TypedEvent[]) => void;
  /**
   * Fetch while applying: each batch is handed to its partition's queue and the consumer fetches the
   * next one at once, instead of waiting (as kafkajs does) until every batch of the last fetch is
   * applied. Per partition, batches are still applied one after the other, in order, and offsets are
   * committed only after a batch's transaction; at most PIPELINE_DEPTH batches wait per partition.
   */
  readonly pipelined?: boolean;
}

/** Batches of one partition fetched but not yet applied, at most (pipelined mode). */
const PIPELINE_DEPTH = 2;

/**
 * Every partition of the platform's widest topics (6). A batch's transaction mostly waits (on
 * PostgreSQL, on its commit's WAL flush, on services such as encryption-service), so with 2 in flight
 * the cores sat idle; each batch holds one pooled connection (the pool has 10 by default).
 */
const DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY = 6;

interface Rejection {
  readonly message: KafkaMessage;
  readonly code: string;
  readonly reason: string;
  readonly attempts: number;
  readonly event?: TypedEvent;
}

/**
 * Kafka consumer with an idempotent inbox. For every fetched batch it dead-letters what can never
 * be processed (bad JSON, wrong schema, unknown type, handler failing after bounded retries),
 * applies the rest in one PostgreSQL transaction together with their inbox rows, and only then
 * commits the offsets. A crash anywhere before the commit means redelivery, never loss; the inbox
 * turns redelivery into a no-op.
 */
export class InboxConsumer {
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly logger: MessagingLogger;
  private readonly metrics: MessagingMetrics;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private running = false;
  /** Pipelined mode: per `topic|partition`, the batches waiting or being applied, in order. */
  private readonly queues = new Map<string, Promise<void>[]>();
  /** Pipelined mode: a failure of a queued batch, thrown from the next fetch so kafkajs restarts from the committed offsets. */
  private failure: Error | undefined;

  constructor(private readonly options: InboxConsumerOptions) {
    this.maxAttempts = options.maxAttempts ?? 3;
    this.backoffMs = options.backoffMs ?? 100;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? MessagingMetrics.for();
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.producer = createIdempotentProducer(this.options.kafka);
    await this.producer.connect();
    const { kafka } = this.options;
    this.consumer = kafka.consumer({
      groupId: brokerName(kafka, this.options.groupId),
      sessionTimeout: 30000,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: this.options.topics.map((topic) => brokerName(kafka, topic)),
      fromBeginning: this.options.fromBeginning ?? true,
    });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY,
      eachBatch: (payload) => this.consumeBatch(payload),
    });
  }

  /** Lets the batches in flight finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.allSettled([...this.queues.values()].flat());
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.consumer = undefined;
    this.producer = undefined;
  }

  private async consumeBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const last = batch.messages[batch.messages.length - 1]!;
    const commit = () =>
      this.consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
    if (!this.options.pipelined) {
      await this.applyBatch(batch);
      if (!payload.isRunning() || payload.isStale()) return;
      payload.resolveOffset(last.offset);
      await commit();
      await payload.heartbeat();
      return;
    }
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
    if (!this.running) return;
    const key = `${batch.topic}|${batch.partition}`;
    const queue = this.queues.get(key) ?? [];
    this.queues.set(key, queue);
    const previous = queue.at(-1) ?? Promise.resolve();
    // After the batch before it (a failed one stops the rest of the partition's queue), and committed
    // only while running: a batch left uncommitted is fetched again, and the inbox makes that a no-op.
    const applied = previous.then(async () => {
      await this.applyBatch(batch);
      if (this.running)
        await commit().catch((error: unknown) =>
          this.logger.warn({ err: error, partition: batch.partition }, 'offset commit failed; the batch will be delivered again'),
        );
    });
    queue.push(applied);
    applied.then(
      () => queue.splice(queue.indexOf(applied), 1),
      (error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        if (this.queues.get(key) === queue) this.queues.delete(key);
      },
    );
    // The next fetch of this partition starts after this batch.
    payload.resolveOffset(last.offset);
    while (queue.length > PIPELINE_DEPTH && this.queues.get(key) === queue) {
      await queue[0]!.catch(() => undefined);
      await payload.heartbeat();
    }
  }

  /** Decodes a batch, dead-letters what can never be processed and applies the rest. */
  private async applyBatch(batch: EachBatchPayload['batch']): Promise<void> {
    const accepted: TypedEvent[] = [];
    const rejected: Rejection[] = [];
    const messageById = new Map<string, KafkaMessage>();
    // Events, metrics and dead letters name the contracts' topic; offsets the broker's.
    const topic = contractTopic(this.options.kafka, batch.topic);
    for (const message of batch.messages) {
      try {
        const event = decodeEvent(message.value, topic);
        accepted.push(event);
        messageById.set(event.id, message);
      } catch (error) {
        rejected.push({ message, code: errorCodeOf(error), reason: (error as Error).message, attempts: 1 });
      }
    }
    await this.deadLetter(topic, batch.partition, rejected);
    await this.applyWithIsolation(topic, batch.partition, dedupe(accepted), messageById);
  }

  /** One transaction for the whole batch; on failure, event by event so one bad event cannot block the rest. */
  private async applyWithIsolation(topic: string, partition: number, events: TypedEvent[], messageById: Map<string, KafkaMessage>) {
    if (events.length === 0) return;
    try {
      await this.retryWhileTransient(() => this.apply(topic, events));
      return;
    } catch (error) {
      // A transient failure gets here only when the consumer is stopping: leave the batch uncommitted
      // (it is delivered again), never dead-letter events because the database was down.
      if (isTransient(error)) throw error;
      this.logger.warn({ err: error, topic, count: events.length }, 'batch failed; isolating the failing events');
    }
    const poisoned: Rejection[] = [];
    for (const event of events) {
      let attempts = 0;
      for (;;) {
        attempts += 1;
        try {
          await this.retryWhileTransient(() => this.apply(topic, [event]));
          break;
        } catch (error) {
          if (isTransient(error)) throw error;
          if (attempts >= this.maxAttempts) {
            poisoned.push({
              message: messageById.get(event.id)!,
              code: errorCodeOf(error),
              reason: (error as Error).message,
              attempts,
              event,
            });
            break;
          }
          await sleep(this.backoffMs * 2 ** (attempts - 1));
        }
      }
    }
    await this.deadLetter(topic, partition, poisoned);
  }

  private async apply(topic: string, events: readonly TypedEvent[]): Promise<void> {
    let fresh: readonly TypedEvent[];
    try {
      fresh = await this.applyInTransaction(events, 'all-new');
    } catch (error) {
      // Some of these events were applied before (a redelivery): again, skipping those.
      if (!isInboxConflict(error)) throw error;
      fresh = await this.applyInTransaction(events, 'some-seen');
    }
    this.options.onCommitted?.(fresh);
    const now = Date.now();
    this.metrics.consumed.inc({ topic, outcome: 'processed' }, fresh.length);
    if (events.length > fresh.length) this.metrics.consumed.inc({ topic, outcome: 'duplicate' }, events.length - fresh.length);
    for (const event of fresh) this.metrics.endToEndSeconds.observe({ topic }, (now - Date.parse(event.time)) / 1000);
  }

  /**
   * Records the events in the inbox and applies those not recorded before, in one transaction.
   * `all-new`: a redelivered event fails the whole statement (unique violation) before the handler
   * runs, so on success every event is new. `some-seen`: those recorded before are skipped.
   */
  private async applyInTransaction(events: readonly TypedEvent[], expected: 'all-new' | 'some-seen'): Promise<readonly TypedEvent[]> {
    return this.options.dataSource.transaction(async (manager) => {
      const statement = expected === 'all-new' ? INBOX_INSERT_NEW : INBOX_INSERT_UNSEEN;
      const { rows: inserted } = await runPrepared<{ event_id: string }>(manager.queryRunner!, statement, [
        this.options.groupId,
        events.map((event) => event.id),
      ]);
      let freshEvents = events;
      if (expected === 'some-seen') {
        const ids = new Set(inserted.map((row) => row.event_id));
        freshEvents = events.filter((event) => ids.has(event.id));
      }
      if (freshEvents.length > 0) await this.options.handler(freshEvents, manager);
      return freshEvents;
    });
  }

  /** Transient failures (database or broker unreachable) are retried until they clear or the consumer stops. */
  private async retryWhileTransient<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (!isTransient(error) || !this.running) throw error;
        this.logger.warn({ err: error, attempt }, 'transient failure; retrying');
        await sleep(Math.min(this.backoffMs * 2 ** attempt, 5000));
      }
    }
  }

  private async deadLetter(topic: string, partition: number, rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    const messages = rejections.map(({ message, code, reason, attempts, event }) => {
      const record = createEvent({
        type: EventTypes.deadLetter,
        source: `/traceo/consumers/${this.options.groupId}`,
        tenantid: event?.tenantid ?? PLATFORM_TENANT,
        data: {
          errorCode: code,
          reason: reason.slice(0, 2048),
          consumerGroup: this.options.groupId,
          originalTopic: topic,
          originalPartition: partition,
          originalOffset: message.offset,
          originalKey: message.key?.toString('utf8') ?? null,
          originalValueBase64: message.value?.toString('base64') ?? '',
          ...(event ? { originalEventId: event.id } : {}),
          attempts,
          failedAt: new Date().toISOString(),
        },
      });
      return {
        key: message.key,
        value: encodeEvent(record),
        headers: { 'content-type': 'application/cloudevents+json', 'traceo-error-code': code, 'traceo-original-topic': topic },
      };
    });
    await this.producer!.send({ topic: brokerName(this.options.kafka, EventTypes.deadLetter), acks: -1, messages });
    for (const { code } of rejections) {
      this.metrics.deadLettered.inc({ topic, code });
      this.metrics.consumed.inc({ topic, outcome: 'dead-lettered' });
    }
    this.logger.warn({ topic, partition, codes: rejections.map((r) => r.code) }, 'messages sent to the dead-letter topic');
  }
}

/**
 * Inbox rows for events expected to be new: a plain INSERT, which records them all or fails (and so
 * returns nothing to read back). Nearly every batch is new, and against
 * `ON CONFLICT DO NOTHING` (a speculative insertion per row, confirmed in a second WAL record) it took
 * about 3.5 µs less PostgreSQL CPU per event (docs/benchmarks.md, bench/audit).
 */
const INBOX_INSERT_NEW = 'INSERT INTO inbox (consumer_group, event_id) SELECT $1, unnest($2::text[])';
/** Inbox rows for events of which some were seen before: those are left out, and so not applied again. */
const INBOX_INSERT_UNSEEN =
  'INSERT INTO inbox (consumer_group, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id';

/** A unique violation of the inbox's key: an event of the batch was recorded by an earlier delivery. */
function isInboxConflict(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'inbox_pkey';
}

function dedupe(events: readonly TypedEvent[]): TypedEvent[] {
  const seen = new Set<string>();
  return events.filter((event) => !seen.has(event.id) && seen.add(event.id));
}
