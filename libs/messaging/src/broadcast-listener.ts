import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { decodeEvent, type EventType, type TypedEvent } from '@traceo/contracts';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { brokerName } from './kafka';
import { silentLogger, type MessagingLogger } from './logger';

export interface KafkaBroadcastListenerOptions<T extends EventType> {
  readonly kafka: Kafka;
  /** The topic (event type) this process reads in full. */
  readonly type: T;
  /** Prefix of this process's own consumer group, e.g. `audit-service.subject-shredded`. */
  readonly groupPrefix: string;
  /** Called for every valid event, in partition order; must not throw. */
  readonly onEvent: (event: TypedEvent<T>) => void;
  /** Called when the listener starts or stops seeing new events (positioned in its group, rejoined, crashed, stopped). */
  readonly onListeningChange?: (listening: boolean) => void;
  readonly logger?: MessagingLogger;
}

/**
 * Reads every partition of one topic in this process alone: its own consumer group (named after the
 * host, the process and a random suffix), no committed offsets, starting at the end. For events every
 * replica must see (request-reply answers, cache invalidations), unlike the inbox, where each event
 * goes to one replica of a group. `listening` is true only while the consumer is in its group and
 * positioned (see `start`), so a caller can tell when events may be missed and stop relying on them.
 */
export class KafkaBroadcastListener<T extends EventType> {
  private readonly logger: MessagingLogger;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  /** In the group, and every assigned partition told to start at an end offset read after joining. */
  private inGroup = false;
  private positioned = false;
  private listeningNow = false;
  /** Joins so far: a positioning begun for an earlier join is abandoned. */
  private joins = 0;
  private onPositioned: (() => void) | undefined;
  /** `start`'s connect, subscribe and run while under way: `stop` waits for them before it disconnects. */
  private setup: Promise<void> | undefined;
  private stopRequested = false;

  constructor(private readonly options: KafkaBroadcastListenerOptions<T>) {
    this.logger = options.logger ?? silentLogger;
  }

  get listening(): boolean {
    return this.listeningNow;
  }

  /**
   * Connects and joins; resolves once events can be seen, or after `joinTimeoutMs` (`listening` stays
   * false until then). Joining is not enough: a new group without offsets starts at the end of each
   * partition as of its first successful fetch, which can come late (a fetch that fails, say on a new
   * topic, is retried), and events published before it would be missed. So after each join the
   * listener reads the partitions' end offsets itself and seeks there: every event published after
   * that read is seen. `listening` turns true once those seeks are made, and false at every (re)join,
   * crash or stop.
   */
  async start(joinTimeoutMs = 15_000): Promise<void> {
    this.stopRequested = false;
    const ready = new Promise<void>((resolve) => (this.onPositioned = resolve));
    this.setup = this.connectAndRun();
    await this.setup;
    if (this.stopRequested) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ready, new Promise<void>((resolve) => (timer = setTimeout(resolve, joinTimeoutMs)))]);
    clearTimeout(timer);
    if (!this.listeningNow && !this.stopRequested)
      this.logger.warn({ type: this.options.type }, 'broadcast listener is not reading its topic yet');
  }

  private async connectAndRun(): Promise<void> {
    const { kafka, type, groupPrefix } = this.options;
    const topic = brokerName(kafka, type);
    this.admin = kafka.admin();
    await this.admin.connect();
    const consumer = kafka.consumer({
      groupId: brokerName(kafka, `${groupPrefix}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`),
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.inGroup = true;
      this.positioned = false;
      this.update();
      void this.positionAtEnd(topic, event.payload.memberAssignment[topic] ?? [], (this.joins += 1));
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.inGroup = false;
      this.update();
      this.logger.warn({ err: event.payload.error, restart: event.payload.restart, type }, 'broadcast listener crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        this.receive(message.value);
        return Promise.resolve();
      },
    });
  }

  /** Seeks every assigned partition to its end offset as read now; retried until it works or the group changes. */
  private async positionAtEnd(topic: string, partitions: readonly number[], join: number): Promise<void> {
    for (let attempt = 0; join === this.joins && this.inGroup; attempt += 1) {
      try {
        const ends = await this.admin!.fetchTopicOffsets(topic);
        if (join !== this.joins || !this.inGroup) return;
        for (const { partition, high } of ends) if (partitions.includes(partition)) this.consumer!.seek({ topic, partition, offset: high });
        this.positioned = true;
        this.update();
        this.onPositioned?.();
        return;
      } catch (error) {
        this.logger.warn({ err: error, topic, attempt }, 'broadcast listener could not read the end offsets; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)));
      }
    }
  }

  /**
   * Leaves the group and disconnects. A `start` still connecting is let finish first: kafkajs rejoins
   * with a consumer disconnected in the middle of its join and leaves it running, unreferenced. A
   * `start` waiting for its join returns at once.
   */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.onPositioned?.();
    this.inGroup = false;
    this.update();
    await this.setup?.catch(() => undefined);
    this.inGroup = false;
    this.update();
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
    this.consumer = undefined;
    this.admin = undefined;
  }

  private update(): void {
    const listening = this.inGroup && this.positioned;
    if (this.listeningNow === listening) return;
    this.listeningNow = listening;
    this.options.onListeningChange?.(listening);
  }

  private receive(value: Buffer | null): void {
    let event: TypedEvent<T>;
    try {
      event = decodeEvent(value, this.options.type) as TypedEvent<T>;
    } catch (error) {
      // Not ours to dead-letter: every process reads every event. Counted in the log only.
      this.logger.warn({ code: (error as { code?: string }).code ?? 'EVENT.INVALID', type: this.options.type }, 'unreadable event ignored');
      return;
    }
    this.options.onEvent(event);
  }
}
