import { BaseRpcContext, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isEventType, type TypedEvent } from '@traceo/contracts';
import { InboxConsumer } from '@traceo/messaging';
import { lastValueFrom } from 'rxjs';
import type { EntityManager } from 'typeorm';
import type { ServiceRuntime } from './service-runtime';

/** Options for `@EventPattern(type, BATCH)`: the handler receives all new events of a Kafka batch at once. */
export const BATCH = { batch: true } as const;

/** Context of an @EventPattern handler: the transaction that also records the events in the inbox. */
export class InboxContext extends BaseRpcContext<[readonly TypedEvent[], EntityManager]> {
  /** The events this call handles: one, or a whole batch for handlers declared with BATCH. */
  getEvents(): readonly TypedEvent[] {
    return this.args[0];
  }

  /** Write the handler's effects with this manager so they commit together with the inbox row. */
  getManager(): EntityManager {
    return this.args[1];
  }
}

/**
 * Nest microservice transport backed by the idempotent inbox consumer. Handlers are declared with
 * `@EventPattern('<event type>')`; the pattern is also the topic. Handlers run inside the batch
 * transaction in partition order: one event per call, or (with `@EventPattern(type, BATCH)`) all new
 * events of that type in the batch per call, as an array.
 */
export class InboxTransport extends Server implements CustomTransportStrategy {
  private consumer: InboxConsumer | undefined;

  constructor(
    private readonly runtime: ServiceRuntime,
    private readonly options: { pipelined?: boolean } = {},
  ) {
    super();
  }

  async listen(callback: () => void): Promise<void> {
    const topics = [...this.messageHandlers.keys()];
    const unknown = topics.filter((topic) => !isEventType(topic));
    if (unknown.length > 0) throw new Error(`@EventPattern names unregistered event types: ${unknown.join(', ')}`);
    if (topics.length > 0) {
      this.consumer = new InboxConsumer({
        dataSource: this.runtime.dataSource,
        kafka: this.runtime.kafka,
        groupId: this.runtime.config.TRACEO_KAFKA_CONSUMER_GROUP ?? this.runtime.name,
        topics,
        pipelined: this.options.pipelined ?? false,
        logger: this.runtime.logger,
        handler: async (events, manager) => {
          for (const [type, ofType] of groupByType(events)) {
            const handler = this.getHandlerByPattern(type)!;
            const calls = handler.extras?.batch === true ? [ofType] : ofType.map((event) => [event]);
            for (const call of calls) {
              const result: unknown = await handler(handler.extras?.batch === true ? call : call[0], new InboxContext([call, manager]));
              await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
            }
          }
        },
      });
      await this.consumer.start();
    }
    callback();
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  on(): never {
    throw new Error('InboxTransport does not emit transport events');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }
}

function groupByType(events: readonly TypedEvent[]): Map<string, TypedEvent[]> {
  const groups = new Map<string, TypedEvent[]>();
  for (const event of events) {
    const group = groups.get(event.type);
    if (group) group.push(event);
    else groups.set(event.type, [event]);
  }
  return groups;
}

/** The transaction an @EventPattern handler must write through (Nest types the context as unknown). */
export function inboxManagerOf(context: unknown): EntityManager {
  if (!(context instanceof InboxContext)) throw new Error('handler was not invoked by InboxTransport');
  return context.getManager();
}
