export { KafkaBroadcastListener, type KafkaBroadcastListenerOptions } from './broadcast-listener';
export { InboxConsumer, type InboxConsumerOptions, type InboxHandler } from './inbox-consumer';
export {
  brokerName,
  createIdempotentProducer,
  createKafka,
  deleteNamespaceTopics,
  ensureTopics,
  type KafkaConnectionOptions,
} from './kafka';
export { silentLogger, type MessagingLogger } from './logger';
export { CreateOutboxAndInbox1764000000000, MESSAGING_MIGRATIONS, TuneOutboxVacuum1764100000000 } from './messaging.migration';
export { MessagingMetrics } from './metrics';
export { appendToOutbox, writeToOutbox, writeToOutboxIf } from './outbox';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
export { errorCodeOf, isTransient } from './transient-error';
export {
  KafkaRequester,
  KafkaResponder,
  type KafkaRequesterOptions,
  type KafkaResponderOptions,
  type RequestOutcome,
} from './request-reply';
