import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { decodeEvent, type EventType, type TypedEvent } from '@traceo/contracts';
import type { Consumer, Kafka } from 'kafkajs';
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
 * goes to one replica of a group. `listening` is true only while the consumer is in its group, so a
 * caller can tell when events may be missed and stop relying on them.
 */
export class KafkaBroadcastListener<T extends EventType> {
  private readonly logger: MessagingLogger;
  private consumer: Consumer | undefined;
  /** In the group, and a fetch since joining has fixed where reading starts. */
  private inGroup = false;
  private positioned = false;
  private listeningNow = false;

  constructor(private readonly options: KafkaBroadcastListenerOptions<T>) {
    this.logger = options.logger ?? silentLogger;
  }

  get listening(): boolean {
    return this.listeningNow;
  }

  /**
   * Connects and joins; resolves once events can be seen, or after `joinTimeoutMs` (`listening` stays
   * false until then). Joining is not enough: a new group starts reading at the end of each partition
   * as of its first fetch, so events published between the join and that fetch would be missed.
   * `listening` turns true after the first fetch since each join, and false at every (re)join or crash.
   */
  async start(joinTimeoutMs = 15_000): Promise<void> {
    const { kafka, type, groupPrefix } = this.options;
    const consumer = kafka.consumer({
      groupId: brokerName(kafka, `${groupPrefix}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`),
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    const ready = new Promise<void>((resolve) => {
      consumer.on(consumer.events.FETCH, () => {
        if (!this.inGroup || this.positioned) return;
        this.positioned = true;
        this.update();
        resolve();
      });
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.inGroup = true;
      this.positioned = false;
      this.update();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.inGroup = false;
      this.update();
      this.logger.warn({ err: event.payload.error, restart: event.payload.restart, type }, 'broadcast listener crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [brokerName(kafka, type)], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        this.receive(message.value);
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ready, new Promise<void>((resolve) => (timer = setTimeout(resolve, joinTimeoutMs)))]);
    clearTimeout(timer);
    if (!this.listeningNow) this.logger.warn({ type }, 'broadcast listener is not reading its topic yet');
  }

  async stop(): Promise<void> {
    this.inGroup = false;
    this.update();
    await this.consumer?.disconnect();
    this.consumer = undefined;
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
