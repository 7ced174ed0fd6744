import { BaseRpcContext, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isEventType, type TypedEvent } from '@traceo/contracts';
import { InboxConsumer } from '@traceo/messaging';
import { lastValueFrom } from 'rxjs';
import type { EntityManager } from 'typeorm';
import type { ServiceRuntime } from './service-runtime';

/** Context of an @EventPattern handler: the transaction that also records the event in the inbox. */
export class InboxContext extends BaseRpcContext<[TypedEvent, EntityManager]> {
  getEvent(): TypedEvent {
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
 * transaction, one event at a time, in partition order.
 */
export class InboxTransport extends Server implements CustomTransportStrategy {
  private consumer: InboxConsumer | undefined;

  constructor(private readonly runtime: ServiceRuntime) {
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
        logger: this.runtime.logger,
        handler: async (events, manager) => {
          for (const event of events) {
            const handler = this.getHandlerByPattern(event.type)!;
            const result: unknown = await handler(event, new InboxContext([event, manager]));
            await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
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

/** The transaction an @EventPattern handler must write through (Nest types the context as unknown). */
export function inboxManagerOf(context: unknown): EntityManager {
  if (!(context instanceof InboxContext)) throw new Error('handler was not invoked by InboxTransport');
  return context.getManager();
}
