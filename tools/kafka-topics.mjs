#!/usr/bin/env node
// Creates the platform's Kafka topics from libs/contracts/src/topics.json (broker auto-create is
// off). Idempotent; called by `tools/infra up`. Services also ensure their topics at start-up.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const { topics } = JSON.parse(readFileSync(new URL('../libs/contracts/src/topics.json', import.meta.url), 'utf8'));
const brokers = (process.env.TRACEO_KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');

const admin = new Kafka({ clientId: 'traceo-topics', brokers, logLevel: logLevel.ERROR }).admin();
await admin.connect();
try {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic.name));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: 1 })),
    });
  }
  console.log(
    `kafka topics: ${topics.length} registered, ${missing.length} created${missing.length ? ` (${missing.map((t) => t.name).join(', ')})` : ''}`,
  );
} finally {
  await admin.disconnect();
}
