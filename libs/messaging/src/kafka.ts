import { TOPIC_NAMESPACE, TOPIC_NAMESPACE_RULE, TOPICS, type TopicDefinition } from '@traceo/contracts';
import { Kafka, logLevel, Partitioners, type LogEntry, type Producer } from 'kafkajs';
import { applyKafkajsIdleLoopFix } from './kafkajs-idle-loop-fix';
import { silentLogger, type MessagingLogger } from './logger';

// Every Kafka client of the platform is made here: the idle-loop fix is in place before the first.
applyKafkajsIdleLoopFix();

export interface KafkaConnectionOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger?: MessagingLogger;
  /**
   * Prefix of every topic and consumer group this client's publishers and consumers use (see
   * `TOPIC_NAMESPACE`); absent or empty: the names as the contracts define them.
   */
  readonly namespace?: string;
}

const namespaces = new WeakMap<Kafka, string>();

/** The namespace createKafka gave this client ('' for none). */
export function namespaceOf(kafka: Kafka): string {
  return namespaces.get(kafka) ?? '';
}

/** The topic or consumer group name on the broker for a name of the contracts. */
export function brokerName(kafka: Kafka, name: string): string {
  return namespaceOf(kafka) + name;
}

/** The contracts' name of a topic read from the broker (its namespace removed). */
export function contractTopic(kafka: Kafka, topic: string): string {
  const namespace = namespaceOf(kafka);
  return namespace !== '' && topic.startsWith(namespace) ? topic.slice(namespace.length) : topic;
}

const IDEMPOTENT_RETRY_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/** A kafkajs client whose own log lines go through the service's structured logger. */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  const logger = options.logger ?? silentLogger;
  const namespace = options.namespace ?? '';
  if (!TOPIC_NAMESPACE.test(namespace)) {
    throw new Error(`Kafka namespace "${namespace}": ${TOPIC_NAMESPACE_RULE}`);
  }
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 100, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        // Our producers retry a bounded number of times on purpose: the relay re-sends a failed batch
        // itself and the inbox drops duplicates, so kafkajs' exactly-once warning does not apply.
        if (message === IDEMPOTENT_RETRY_WARNING) return;
        const line = { component: 'kafkajs', ...rest };
        if (level === logLevel.ERROR) logger.error(line, message);
        else if (level === logLevel.WARN) logger.warn(line, message);
        else logger.debug(line, message);
      },
  });
  if (namespace !== '') namespaces.set(kafka, namespace);
  return kafka;
}

/**
 * Creates the platform's topics (broker auto-creation is off), in the client's namespace. Existing
 * topics are left alone, so every service can call this at start-up. Answers the broker names created.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicDefinition[] = TOPICS, replicationFactor = 1): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.map((topic) => ({ ...topic, name: brokerName(kafka, topic.name) })).filter((topic) => !existing.has(topic.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic: topic.name, numPartitions: topic.partitions, replicationFactor })),
      });
    }
    return missing.map((topic) => topic.name);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The producer every publisher here uses: idempotent (so broker retries cannot duplicate or reorder
 * within a partition), acks from all in-sync replicas, Java-compatible partitioning, no topic creation.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
}

/**
 * Deletes every topic of the client's namespace (a bench or test run that made its own). Refuses
 * without a namespace: the shared topics are never deleted this way. Answers the names deleted.
 */
export async function deleteNamespaceTopics(kafka: Kafka): Promise<string[]> {
  const namespace = namespaceOf(kafka);
  if (namespace === '') throw new Error('deleteNamespaceTopics needs a client with a namespace');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(namespace));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    return topics;
  } finally {
    await admin.disconnect();
  }
}
