import type { Kafka, Producer } from 'kafkajs';
import { runPrepared } from '@traceo/persistence';
import type { DataSource, QueryRunner } from 'typeorm';
import { brokerName, createIdempotentProducer } from './kafka';
import { silentLogger, type MessagingLogger } from './logger';
import { MessagingMetrics } from './metrics';

export interface OutboxRelayOptions {
  readonly dataSource: DataSource;
  readonly kafka: Kafka;
  /** Names the advisory lock: one active relay per service schema, the others stand by. */
  readonly lockName: string;
  readonly batchSize?: number;
  /** How long to wait before polling an empty outbox again. */
  readonly idleDelayMs?: number;
  /**
   * How long after a notify the idle relay polls (default 5 ms, at most idleDelayMs): commits that
   * land close together, e.g. a client's back-to-back requests, share one read, send and delete
   * instead of each paying for its own.
   */
  readonly lingerMs?: number;
  readonly logger?: MessagingLogger;
  readonly metrics?: MessagingMetrics;
}

interface OutboxRow {
  seq: string;
  topic: string;
  message_key: string;
  payload: string;
  event_id: string;
}

/**
 * Moves committed outbox rows to Kafka. Each batch is read, published with an idempotent producer
 * (acks=all) and then deleted: if the process dies after Kafka accepted the batch but before the
 * delete commits, the batch is published again and the consumers' inbox drops the duplicates.
 * At-least-once delivery, effectively-once effects. The read and the delete need no transaction
 * around them (no row locks: the advisory lock makes this the only relay of the schema), so a batch
 * costs two statements and an empty poll one.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly idleDelayMs: number;
  private readonly logger: MessagingLogger;
  private readonly metrics: MessagingMetrics;
  private producer: Producer | undefined;
  private runner: QueryRunner | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private lingering: NodeJS.Timeout | undefined;
  private readonly lingerMs: number;
  private active = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.idleDelayMs = options.idleDelayMs ?? 10;
    this.lingerMs = Math.min(options.lingerMs ?? 5, this.idleDelayMs);
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? MessagingMetrics.for();
  }

  /** Whether this instance holds the relay lock and is publishing. */
  get isActive(): boolean {
    return this.active;
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.producer = createIdempotentProducer(this.options.kafka);
    await this.producer.connect();
    this.runner = this.options.dataSource.createQueryRunner();
    await this.runner.connect();
    this.loop = this.run().catch((error: unknown) => {
      this.logger.error({ err: error }, 'outbox relay stopped after an unexpected error');
    });
  }

  /** Nudges an idle relay to poll within lingerMs (after a commit that wrote outbox rows). */
  notify(): void {
    if (this.wake === undefined || this.lingering !== undefined) return;
    this.lingering = setTimeout(() => this.wake?.(), this.lingerMs);
  }

  /**
   * Finishes the batch in flight, publishes what is already committed (up to `drainTimeoutMs`),
   * releases the lock and disconnects.
   */
  async stop(drainTimeoutMs = 5000): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.wake?.();
    await this.loop;
    const deadline = Date.now() + drainTimeoutMs;
    if (this.active) {
      while (Date.now() < deadline && (await this.publishBatch()) > 0) {
        /* drain */
      }
    }
    await this.release();
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (!this.active) {
        this.active = await this.tryLock();
        if (!this.active) {
          await this.idle(1000);
          continue;
        }
        this.logger.info({ lock: this.options.lockName }, 'outbox relay is active');
      }
      try {
        const published = await this.publishBatch();
        if (published < this.batchSize) await this.idle(this.idleDelayMs);
      } catch (error) {
        this.logger.warn({ err: error }, 'outbox relay batch failed; retrying');
        await this.idle(500);
      }
    }
  }

  /** Publishes one batch; returns how many events it moved. */
  private async publishBatch(): Promise<number> {
    const runner = this.runner!;
    const { rows } = await runPrepared<OutboxRow>(
      runner,
      // No row locks needed (and no UPDATE privilege): the advisory lock makes this the only relay.
      'SELECT seq, event_id, topic, message_key, payload FROM outbox ORDER BY seq LIMIT $1',
      [this.batchSize],
    );
    if (rows.length === 0) {
      this.metrics.outboxBacklog.set(0);
      return 0;
    }
    await this.producer!.sendBatch({ acks: -1, topicMessages: groupByTopic(rows, (topic) => brokerName(this.options.kafka, topic)) });
    await runPrepared(runner, 'DELETE FROM outbox WHERE seq = ANY($1::bigint[])', [rows.map((row) => row.seq)]);
    for (const row of rows) this.metrics.relayed.inc({ topic: row.topic });
    this.metrics.outboxBacklog.set(rows.length === this.batchSize ? rows.length : 0);
    return rows.length;
  }

  private async tryLock(): Promise<boolean> {
    const [row] = (await this.runner!.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [this.options.lockName])) as {
      locked: boolean;
    }[];
    return row?.locked === true;
  }

  /** Waits ms, or until woken (a notify after lingerMs, or stop at once). */
  private idle(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearTimeout(this.lingering);
        this.lingering = undefined;
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async release(): Promise<void> {
    if (this.active) {
      await this.runner?.query('SELECT pg_advisory_unlock(hashtext($1))', [this.options.lockName]).catch(() => undefined);
      this.active = false;
    }
    await this.runner?.release();
    this.runner = undefined;
    await this.producer?.disconnect();
    this.producer = undefined;
  }
}

/** `brokerTopic`: the broker's name for an outbox row's topic (the client's namespace added). */
function groupByTopic(
  rows: readonly OutboxRow[],
  brokerTopic: (topic: string) => string,
): { topic: string; messages: { key: string; value: string; headers: Record<string, string> }[] }[] {
  const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
  for (const row of rows) {
    const messages = byTopic.get(row.topic) ?? [];
    messages.push({
      key: row.message_key,
      value: row.payload,
      headers: { 'content-type': 'application/cloudevents+json', ce_id: row.event_id },
    });
    byTopic.set(row.topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic: brokerTopic(topic), messages }));
}
