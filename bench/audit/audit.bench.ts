// bench/audit — audit-service ingest from Kafka into the Merkle log, beside a plain multi-row INSERT
// baseline consuming the same events the same way (inbox included); then inclusion-proof latency
// and search-by-actor latency on the log that was built. Not a test: nothing is asserted.
//
//   npm run bench:audit -- [--records 200000] [--tenants 16] [--samples 2000]
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, encodeEvent, EventTypes, type AuditRecordV1, type TypedEvent } from '@traceo/contracts';
import { leafHash, storedInclusionProof, verifyInclusion, frontierRoot } from '@traceo/merkle';
import { createKafka, ensureTopics, InboxConsumer, MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv, startGroupAtEnd } from '@traceo/testing';
import { Partitioners, type Kafka } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { generateKeyPairSync } from 'node:crypto';
import { createLogger } from '@traceo/observability';
import { assembleServiceRuntime, EventPublisher, loadConfig } from '@traceo/service-kit';
import { AppendAuditRecordsUseCase } from '../../apps/audit-service/src/audit-log/append-audit-record.usecase';
import { CheckpointSigner } from '../../apps/audit-service/src/audit-log/checkpoint-note';
import { issueCheckpoints, registerSigningKey } from '../../apps/audit-service/src/audit-log/checkpoints';
import { auditConfigSchema } from '../../apps/audit-service/src/audit-service.config';
import { loadNodes, readHead } from '../../apps/audit-service/src/audit-log/merkle-log.repository';
import { AUDIT_MIGRATIONS } from '../../apps/audit-service/src/migrations/1764000000100-CreateAuditLog';
import { ensureMonthlyPartitions } from '../../apps/audit-service/src/retention/audit-partitions';

const args = new Map(process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1] ?? '']] : [])));
const RECORDS = Number(args.get('records') ?? 200000);
const TENANTS = Number(args.get('tenants') ?? 16);
const SAMPLES = Number(args.get('samples') ?? 2000);
const env = loadInfraEnv();
const ACTIONS = ['user.signed-in', 'api.request', 'user.signed-out', 'mfa.challenge-passed', 'api.request', 'role.granted'];

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function produce(kafka: Kafka, run: string): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < RECORDS; i += 2000) {
    const messages = [];
    for (let n = i; n < Math.min(RECORDS, i + 2000); n += 1) {
      const record: AuditRecordV1 = {
        occurredAt: new Date().toISOString(),
        actor: { type: 'user', id: `user-${n % 5000}` },
        action: ACTIONS[n % ACTIONS.length]!,
        resource: { type: 'session', id: `s-${n}` },
        status: n % 11 === 0 ? 'denied' : 'success',
        requestId: `req-${run}-${n}`,
        ip: '198.51.100.23',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
        riskScore: n % 100,
      };
      const event = createEvent({ type: EventTypes.auditRecord, source: '/bench/audit', tenantid: `tenant-${n % TENANTS}`, data: record });
      messages.push({ key: event.tenantid, value: encodeEvent(event) });
    }
    await producer.send({ topic: EventTypes.auditRecord, acks: -1, messages });
  }
  await producer.disconnect();
}

/** Consumes RECORDS audit events with the inbox and the given handler; returns records/s. */
async function consume(
  kafka: Kafka,
  dataSource: DataSource,
  groupId: string,
  handler: (events: readonly TypedEvent[], manager: EntityManager) => Promise<void>,
) {
  let done = 0;
  let first = 0;
  let last = 0;
  const consumer = new InboxConsumer({
    dataSource,
    kafka,
    groupId,
    topics: [EventTypes.auditRecord],
    handler,
    partitionsConsumedConcurrently: 2,
    onCommitted: (events) => {
      if (first === 0) first = performance.now();
      done += events.length;
      last = performance.now();
    },
  });
  const started = performance.now();
  await consumer.start();
  while (done < RECORDS) await sleep(20);
  await consumer.stop();
  return { perSecond: RECORDS / ((last - started) / 1000), seconds: (last - started) / 1000 };
}

async function main(): Promise<void> {
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'bench-audit' });
  await ensureTopics(kafka);
  const run = randomBytes(4).toString('hex');
  const scratch = await createScratchSchema(env.databaseUrl, 'bench_audit');
  const dataSource = await openServiceDatabase({
    url: env.databaseUrl,
    schema: scratch.schema,
    applicationName: 'bench-audit',
    poolSize: 6,
    migrations: [...MESSAGING_MIGRATIONS, ...AUDIT_MIGRATIONS],
  });
  try {
    await ensureMonthlyPartitions(dataSource, new Date(), new Date(Date.now() + 40 * 86_400_000));
    await dataSource.query(
      `CREATE TABLE plain_audit (tenant_id text, event_id text, source text, occurred_at timestamptz, actor_id text, action text, status text, record jsonb)`,
    );
    const groups = { merkle: `bench-audit-merkle-${run}`, plain: `bench-audit-plain-${run}` };
    for (const group of Object.values(groups)) await startGroupAtEnd(kafka, group, EventTypes.auditRecord);
    const t0 = performance.now();
    await produce(kafka, run);
    console.log(`produced ${RECORDS} audit events to Kafka in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const plain = await consume(kafka, dataSource, groups.plain, async (events, manager) => {
      await manager.query(
        `INSERT INTO plain_audit SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::jsonb[])`,
        [
          events.map((e) => e.tenantid),
          events.map((e) => e.id),
          events.map((e) => e.source),
          events.map((e) => (e.data as AuditRecordV1).occurredAt),
          events.map((e) => (e.data as AuditRecordV1).actor.id),
          events.map((e) => (e.data as AuditRecordV1).action),
          events.map((e) => (e.data as AuditRecordV1).status),
          events.map((e) => JSON.stringify(e.data)),
        ],
      );
    });
    // The Merkle run issues signed checkpoints every second while it ingests, as the service does.
    const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const signer = new CheckpointSigner(signingKey);
    const config = loadConfig(auditConfigSchema, {
      TRACEO_HTTP_PORT: '1',
      TRACEO_API_KEYS: 'test:not-used-by-this-test-000000000000000',
      TRACEO_DATABASE_URL: env.databaseUrl,
      TRACEO_KAFKA_BROKERS: env.kafkaBrokers.join(','),
      TRACEO_AUDIT_SIGNING_KEY: signingKey,
    });
    const runtime = assembleServiceRuntime('audit-service', config, { dataSource, logger: createLogger('bench-audit', 'silent') });
    const publisher = new EventPublisher(runtime);
    await registerSigningKey(dataSource, signer);
    let checkpoints = 0;
    const checkpointer = setInterval(() => {
      void issueCheckpoints(dataSource, signer, publisher).then((n) => (checkpoints += n));
    }, 1000);
    const append = new AppendAuditRecordsUseCase();
    const merkle = await consume(kafka, dataSource, groups.merkle, (events, manager) => append.execute(events, manager));
    clearInterval(checkpointer);
    checkpoints += await issueCheckpoints(dataSource, signer, publisher);

    // Inclusion proofs against the current head, leaves chosen at random.
    const tenant = 'tenant-0';
    const head = (await readHead(dataSource, tenant))!;
    const root = frontierRoot(head);
    const proofTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const index = Math.floor(Math.random() * head.size);
      const started = performance.now();
      const [row] = await dataSource.query<{ entry: string }[]>(
        'SELECT entry FROM audit_records WHERE tenant_id = $1 AND leaf_index = $2',
        [tenant, index],
      );
      const proof = await storedInclusionProof(index, head.size, (ids) => loadNodes(dataSource, tenant, ids));
      proofTimes.push(performance.now() - started);
      verifyInclusion(index, head.size, leafHash(Buffer.from(row!.entry, 'utf8')), proof, root);
    }
    proofTimes.sort((a, b) => a - b);

    const searchTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const started = performance.now();
      await dataSource.query(
        `SELECT leaf_index, entry FROM audit_records WHERE tenant_id = $1 AND actor_id = $2 ORDER BY occurred_at DESC LIMIT 100`,
        [`tenant-${i % TENANTS}`, `user-${Math.floor(Math.random() * 5000)}`],
      );
      searchTimes.push(performance.now() - started);
    }
    searchTimes.sort((a, b) => a - b);

    console.log(`\nbench/audit on ${process.version}, ${new Date().toISOString()}: ${RECORDS} records, ${TENANTS} tenants\n`);
    console.log('| measurement | value |');
    console.log('| --- | ---: |');
    console.log(`| ingest from Kafka, plain multi-row INSERT + inbox (baseline) | ${plain.perSecond.toFixed(0)} records/s |`);
    console.log(
      `| ingest from Kafka, Merkle log (leaves, nodes, heads, ${checkpoints} signed checkpoints) + inbox | ${merkle.perSecond.toFixed(0)} records/s |`,
    );
    console.log(
      `| inclusion proof (DB read + proof), tree of ${head.size}: p50 / p99 | ${percentile(proofTimes, 0.5).toFixed(2)} / ${percentile(proofTimes, 0.99).toFixed(2)} ms |`,
    );
    console.log(
      `| search by actor (100 newest), ${RECORDS} records: p50 / p99 | ${percentile(searchTimes, 0.5).toFixed(2)} / ${percentile(searchTimes, 0.99).toFixed(2)} ms |`,
    );
  } finally {
    await dataSource.destroy();
    await scratch.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
