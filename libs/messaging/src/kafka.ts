import { TOPICS, type TopicDefinition } from '@traceo/contracts';
import { Kafka, logLevel, Partitioners, type LogEntry, type Producer } from 'kafkajs';
import { silentLogger, type MessagingLogger } from './logger';

export interface KafkaConnectionOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger?: MessagingLogger;
}

const IDEMPOTENT_RETRY_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/** A kafkajs client whose own log lines go through the service's structured logger. */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  const logger = options.logger ?? silentLogger;
  return new Kafka({
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
}

/**
 * Creates the platform's topics (broker auto-creation is off). Existing topics are left alone, so
 * every service can call this at start-up.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicDefinition[] = TOPICS, replicationFactor = 1): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic.name));
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
