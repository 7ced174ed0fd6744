import { decodeEvent, encodeEvent, type EventType, type TypedEvent } from '@traceo/contracts';
import { Partitioners, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { KafkaBroadcastListener } from './broadcast-listener';
import { silentLogger, type MessagingLogger } from './logger';
import { brokerName } from './kafka';

/** How a request ended: the matching reply, nothing before the deadline, or no way to ask at all. */
export type RequestOutcome<T extends EventType> =
  | { readonly outcome: 'reply'; readonly reply: TypedEvent<T>; readonly elapsedMs: number }
  | { readonly outcome: 'timeout'; readonly elapsedMs: number }
  | { readonly outcome: 'unavailable'; readonly reason: string; readonly elapsedMs: number };

export interface KafkaRequesterOptions<T extends EventType> {
  readonly kafka: Kafka;
  /** The topic replies arrive on; read in full by this instance. */
  readonly replyType: T;
  /** Which request a reply answers (e.g. its `requestId`). */
  readonly correlationOf: (reply: TypedEvent<T>) => string;
  /** Prefix of this instance's own consumer group, e.g. `auth-service.risk-replies`. */
  readonly groupPrefix: string;
  readonly logger?: MessagingLogger;
}

interface Pending<T extends EventType> {
  readonly resolve: (outcome: RequestOutcome<T>) => void;
  readonly started: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * The asking side of Kafka request-reply. Each process reads every partition of the reply topic
 * through its own consumer group (named after the host, the process and a random suffix, without
 * committed offsets, starting at the end), and keeps only replies to requests it is still waiting
 * for; `request` sends the event and resolves with the reply or, at the deadline, with `timeout`.
 * It never throws: a broker that cannot take the request resolves `unavailable` at once, so the
 * caller applies its fallback without waiting. Until the consumer has joined its group, requests
 * are `unavailable` too (their replies could not be seen).
 */
export class KafkaRequester<T extends EventType> {
  private readonly pending = new Map<string, Pending<T>>();
  private readonly logger: MessagingLogger;
  private producer: Producer | undefined;
  private replies: KafkaBroadcastListener<T> | undefined;

  constructor(private readonly options: KafkaRequesterOptions<T>) {
    this.logger = options.logger ?? silentLogger;
  }

  get ready(): boolean {
    return (this.replies?.listening ?? false) && this.producer !== undefined;
  }

  /** Connects and joins; resolves once replies can be received, or after `joinTimeoutMs` (requests are `unavailable` until then). */
  async start(joinTimeoutMs = 15_000): Promise<void> {
    const { kafka, replyType, groupPrefix } = this.options;
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    this.producer = producer;
    this.replies = new KafkaBroadcastListener({
      kafka,
      type: replyType,
      groupPrefix,
      onEvent: (reply) => this.onReply(reply),
      logger: this.logger,
    });
    // Until the listener reads replies (it logs when that takes longer than joinTimeoutMs), requests fall back.
    await this.replies.start(joinTimeoutMs);
  }

  /**
   * Sends `event` (keyed by `key`) and waits at most `deadlineMs` for its reply. The request's
   * correlation id is the event id.
   */
  async request(topic: string, event: TypedEvent, key: string, deadlineMs: number): Promise<RequestOutcome<T>> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    if (!this.ready) return { outcome: 'unavailable', reason: 'not connected', elapsedMs: elapsed() };
    const answer = new Promise<RequestOutcome<T>>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(event.id);
        resolve({ outcome: 'timeout', elapsedMs: elapsed() });
      }, deadlineMs);
      this.pending.set(event.id, { resolve, started, timer });
    });
    try {
      await this.producer!.send({
        topic: brokerName(this.options.kafka, topic),
        acks: -1,
        timeout: deadlineMs,
        messages: [{ key, value: encodeEvent(event) }],
      });
    } catch (error) {
      const pending = this.pending.get(event.id);
      if (pending) {
        clearTimeout(pending.timer);
        this.pending.delete(event.id);
        pending.resolve({ outcome: 'unavailable', reason: error instanceof Error ? error.name : 'send failed', elapsedMs: elapsed() });
      }
    }
    return answer;
  }

  async stop(): Promise<void> {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.resolve({ outcome: 'unavailable', reason: 'stopping', elapsedMs: performance.now() - pending.started });
      this.pending.delete(id);
    }
    await this.replies?.stop();
    await this.producer?.disconnect();
    this.replies = undefined;
    this.producer = undefined;
  }

  private onReply(reply: TypedEvent<T>): void {
    const id = this.options.correlationOf(reply);
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    pending.resolve({ outcome: 'reply', reply, elapsedMs: performance.now() - pending.started });
  }
}

export interface KafkaResponderOptions<Q extends EventType, R extends EventType> {
  readonly kafka: Kafka;
  readonly requestType: Q;
  readonly groupId: string;
  /** The reply for a request and the topic it goes to; `undefined` answers nothing (e.g. past its deadline). */
  readonly answer: (request: TypedEvent<Q>) => Promise<{ topic: R; reply: TypedEvent<R> } | undefined>;
  readonly logger?: MessagingLogger;
}

/**
 * The answering side: reads requests in a shared consumer group and produces each answer to the
 * topic the request names. Unreadable requests are skipped (the asker falls back at its deadline).
 */
export class KafkaResponder<Q extends EventType, R extends EventType> {
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;

  constructor(private readonly options: KafkaResponderOptions<Q, R>) {}

  async start(): Promise<void> {
    const { kafka, requestType, groupId } = this.options;
    const logger = this.options.logger ?? silentLogger;
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    this.producer = producer;
    const consumer = kafka.consumer({
      groupId: brokerName(kafka, groupId),
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: [brokerName(kafka, requestType)], fromBeginning: false });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      eachMessage: async ({ message }) => {
        let request: TypedEvent<Q>;
        try {
          request = decodeEvent(message.value, requestType) as TypedEvent<Q>;
        } catch (error) {
          logger.warn({ code: (error as { code?: string }).code ?? 'EVENT.INVALID' }, 'unreadable request skipped');
          return;
        }
        const answered = await this.options.answer(request);
        if (answered)
          await producer.send({
            topic: brokerName(kafka, answered.topic),
            acks: -1,
            messages: [{ key: request.id, value: encodeEvent(answered.reply) }],
          });
      },
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }
}
