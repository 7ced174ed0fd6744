/* eslint-disable no-console -- a bench reports what it could not clean up */
// The Kafka namespace of one bench run (TRACEO_KAFKA_NAMESPACE of the services it starts, and the
// namespace of its own Kafka clients): the run's audit records, key events and probes go to topics of
// its own, not to the shared `traceo.*` topics a local platform (`npm start`) consumes, and the topics
// are deleted when the run ends.
import { createKafka, deleteNamespaceTopics } from '@traceo/messaging';
import { loadInfraEnv } from '@traceo/testing';

export function benchNamespace(run: string): string {
  return `bench-${run.toLowerCase().replace(/[^a-z0-9]/g, '')}.`;
}

/** Deletes the run's topics; a failure is reported, not thrown (the figures are already printed). */
export async function dropBenchTopics(namespace: string): Promise<void> {
  const kafka = createKafka({ brokers: loadInfraEnv().kafkaBrokers, clientId: 'bench-topics', namespace });
  await deleteNamespaceTopics(kafka).catch((error: unknown) => {
    console.error(`could not delete the bench's topics (${namespace}*): ${(error as Error).message}`);
  });
}
