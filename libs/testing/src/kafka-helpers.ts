import type { Kafka } from 'kafkajs';

/**
 * Points a new consumer group at the current end of a topic, so a test sees only what it produces
 * (the group's first fetch would otherwise race with the producer).
 */
export async function startGroupAtEnd(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: offsets.map(({ partition, high }) => ({ partition, offset: high })) });
  } finally {
    await admin.disconnect();
  }
}

/** Messages the group has not committed yet, summed over the topic's partitions. */
export async function consumerLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committedByPartition = new Map(committed?.partitions.map(({ partition, offset }) => [partition, BigInt(offset)]) ?? []);
    return ends.reduce((lag, { partition, high }) => {
      const done = committedByPartition.get(partition) ?? -1n;
      return lag + Number(BigInt(high) - (done < 0n ? 0n : done));
    }, 0);
  } finally {
    await admin.disconnect();
  }
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
