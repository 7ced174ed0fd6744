/* eslint-disable no-console -- a bench prints its figures */
// Sustained ingest from Kafka into the Merkle log, beside a plain multi-row INSERT baseline, for two
// record mixes, in interleaved rounds. See audit.bench.ts for what is measured and how.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, encodeEvent, EventTypes, type AuditRecordV1, type TypedEvent } from '@traceo/contracts';
import { brokerName, createKafka, ensureTopics, InboxConsumer, type InboxHandler } from '@traceo/messaging';
import { loadInfraEnv, startGroupAtEnd, withClient } from '@traceo/testing';
import { Partitioners, type Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { AppendAuditRecordsUseCase } from '../../apps/audit-service/src/audit-log/append-audit-record.usecase';
import { verifyAuditLog } from '../../apps/audit-service/src/verification/audit-log-verifier';
import { openBenchAuditRuntime, type BenchAuditRuntime } from './audit-runtime';
import { startEncryptionService, type BenchEncryptionService } from './encryption-service';
import {
  benchRecord,
  cpuSnapshot,
  cpuUsed,
  machineLoad,
  median,
  onInterrupt,
  printTable,
  waitForNoOtherAuditService,
  type CpuGroup,
  type Mix,
  type MixShape,
} from './support';
import { benchNamespace } from '../kafka-namespace';

export interface IngestOptions {
  readonly records: number;
  readonly rounds: number;
  readonly shape: MixShape;
  /** The tenants' ids (balancedTenantIds). */
  readonly tenantIds: readonly string[];
  /** Kafka partitions consumed concurrently; InboxConsumer's default (what audit-service runs with) when absent. */
  readonly concurrency?: number;
  /**
   * How personal data is sealed: leased subject keys (audit-service's default), a call per batch, or
   * both, as two user-actor cases interleaved in every round (same records, same log, same rounds).
   */
  readonly sealing: Sealing | 'both';
  /** How the inbox consumer runs: pipelined (fetching while applying; audit-service's default), sequential, or both as cases. */
  readonly inbox: Inbox | 'both';
  /** Writes a V8 CPU profile of each Merkle consume into this directory. */
  readonly cpuProfileDir?: string;
}

type Path = 'plain' | 'merkle';
type Sealing = 'lease' | 'call';
type Inbox = 'pipelined' | 'sequential';

/** What one produced batch exercises: its record mix, for user actors how personal data is sealed, and the inbox mode. */
interface Case {
  readonly mix: Mix;
  readonly sealing: Sealing;
  readonly inbox: Inbox;
  /** e.g. `user/lease`, `service@sequential`: only the parts that vary in this run. */
  readonly name: string;
}

function casesOf(options: IngestOptions): Case[] {
  const sealings: Sealing[] = options.sealing === 'both' ? ['lease', 'call'] : [options.sealing];
  const inboxes: Inbox[] = options.inbox === 'both' ? ['pipelined', 'sequential'] : [options.inbox];
  const at = (inbox: Inbox) => (options.inbox === 'both' ? `@${inbox}` : '');
  return inboxes.flatMap((inbox) => [
    { mix: 'service' as const, sealing: 'lease' as const, inbox, name: `service${at(inbox)}` },
    ...sealings.map((sealing) => ({
      mix: 'user' as const,
      sealing,
      inbox,
      name: `user${options.sealing === 'both' ? `/${sealing}` : ''}${at(inbox)}`,
    })),
  ]);
}

interface Measurement {
  readonly round: number;
  readonly caseName: string;
  readonly path: Path;
  readonly perSecond: number;
  readonly seconds: number;
  /** CPU microseconds per record of the bench process (the consumer), PostgreSQL, encryption-service and Kafka. */
  readonly micros: Map<CpuGroup, number>;
  /** Cores the rest of the machine (other engineers' work) kept busy meanwhile. */
  readonly otherCores: number;
  readonly checkpoints: number;
  readonly sealCalls: number;
}

const SOURCE = '/bench/audit';
/** A consumer that commits nothing for this long is stuck (e.g. encryption-service lost its HSM session): the run fails. */
const STALL_MS = 120_000;

async function produce(kafka: Kafka, mix: Mix, prefix: string, options: IngestOptions): Promise<number> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < options.records; i += 2000) {
    const messages = [];
    for (let n = i; n < Math.min(options.records, i + 2000); n += 1) {
      const { tenant, record } = benchRecord(mix, n, `${prefix}-${String(n).padStart(9, '0')}`, options.shape);
      const event = createEvent({ type: EventTypes.auditRecord, source: SOURCE, tenantid: options.tenantIds[tenant]!, data: record });
      messages.push({ key: event.tenantid, value: encodeEvent(event) });
    }
    await producer.send({ topic: brokerName(kafka, EventTypes.auditRecord), acks: -1, messages });
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return seconds;
}

/**
 * Consumes the `records` events whose requestId starts with `prefix` through an InboxConsumer with
 * `handler`. Throughput is counted from the first handler call to the last commit, so consumer-group
 * join time is left out; other events on the topic (other services' audit records) are applied too but
 * not counted.
 */
async function consume(
  kafka: Kafka,
  dataSource: DataSource,
  groupId: string,
  prefix: string,
  handler: InboxHandler,
  options: IngestOptions,
  encryptionPid: number | undefined,
  stalled: () => string,
  pipelined: boolean,
): Promise<{
  perSecond: number;
  seconds: number;
  micros: Map<CpuGroup, number>;
  otherCores: number;
  handlerIdle: number;
  batches: number;
}> {
  let done = 0;
  let firstStart = 0;
  let last = 0;
  // How much of the run had no batch in the handler (decoding, inbox inserts, commits, fetches happen then).
  let inHandler = 0;
  let idleSince = 0;
  let handlerIdleMs = 0;
  let batches = 0;
  const ours = (event: TypedEvent) => event.source === SOURCE && ((event.data as AuditRecordV1).requestId ?? '').startsWith(prefix);
  const consumer = new InboxConsumer({
    dataSource,
    kafka,
    groupId,
    topics: [EventTypes.auditRecord],
    ...(options.concurrency ? { partitionsConsumedConcurrently: options.concurrency } : {}),
    pipelined,
    handler: async (events, manager) => {
      const now = performance.now();
      if (firstStart === 0) firstStart = now;
      else if (inHandler === 0) handlerIdleMs += now - idleSince;
      inHandler += 1;
      batches += 1;
      try {
        await handler(events, manager);
      } finally {
        inHandler -= 1;
        if (inHandler === 0) idleSince = performance.now();
      }
    },
    onCommitted: (events) => {
      done += events.filter(ours).length;
      last = performance.now();
    },
  });
  const before = cpuSnapshot(encryptionPid);
  await consumer.start();
  let progressAt = performance.now();
  for (let seen = 0; done < options.records; await sleep(10)) {
    if (done > seen) [seen, progressAt] = [done, performance.now()];
    if (performance.now() - progressAt > STALL_MS) {
      await consumer.stop();
      throw new Error(`${groupId}: no record committed for ${STALL_MS / 1000} s (${done} of ${options.records}); ${stalled()}`);
    }
  }
  const after = cpuSnapshot(encryptionPid);
  await consumer.stop();
  const seconds = (last - firstStart) / 1000;
  const used = cpuUsed(before, after);
  const micros = new Map([...used.cpu].map(([group, cpu]) => [group, (cpu * 1e6) / options.records]));
  return {
    perSecond: options.records / seconds,
    seconds,
    micros,
    otherCores: (used.cpu.get('other') ?? 0) / used.seconds,
    // The idle stretch after the last handler (until the last commit) counts too.
    handlerIdle: (handlerIdleMs + Math.max(0, last - idleSince)) / (last - firstStart),
    batches,
  };
}

async function countCheckpoints(dataSource: DataSource): Promise<number> {
  const [row] = await dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM audit_checkpoints');
  return row!.n;
}

/** Creates each tenant's subject keyring and every subject's key, so the rounds measure steady state. */
async function warmSubjectKeys(audit: BenchAuditRuntime, shape: MixShape, tenantIds: readonly string[]): Promise<void> {
  for (let tenant = 0; tenant < shape.tenants; tenant += 1) {
    const requests = Array.from({ length: shape.usersPerTenant }, (_, user) => ({
      eventId: `warm-${tenant}-${user}`,
      subjectId: `user-${user}`,
      plaintext: '{"ip":"192.0.2.1"}',
    }));
    await audit.vault.seal(tenantIds[tenant]!, requests);
  }
}

export async function runIngest(options: IngestOptions): Promise<void> {
  const infra = loadInfraEnv();
  const run = randomBytes(4).toString('hex');
  // The run's own topics (deleted with encryption-service at the end): see bench/kafka-namespace.ts.
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: `bench-audit-${run}`, namespace: benchNamespace(run) });
  await ensureTopics(kafka);
  const schema = `bench_audit_ingest_${run}`;
  let encryption: BenchEncryptionService | undefined;
  let audit: BenchAuditRuntime | undefined;
  const dropSchema = () =>
    withClient(infra.databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).then(() => undefined);
  const forget = onInterrupt(async () => {
    await encryption?.stop();
    await dropSchema();
  });
  try {
    encryption = await startEncryptionService(`bench_audit_enc_${run}`, run, options.cpuProfileDir);
    audit = await openBenchAuditRuntime(schema, encryption, 10, benchNamespace(run), options.sealing === 'call' ? 'call' : 'lease');
    const { dataSource } = audit;
    await dataSource.query(
      `CREATE TABLE plain_audit (tenant_id text, event_id text, source text, occurred_at timestamptz, actor_id text, action text, status text, record jsonb)`,
    );
    const plainHandler: InboxHandler = async (events, manager) => {
      const data = events.map((e) => e.data as AuditRecordV1);
      await manager.query(
        `INSERT INTO plain_audit SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::jsonb[])`,
        [
          events.map((e) => e.tenantid),
          events.map((e) => e.id),
          events.map((e) => e.source),
          data.map((d) => d.occurredAt),
          data.map((d) => d.actor.id),
          data.map((d) => d.action),
          data.map((d) => d.status),
          data.map((d) => JSON.stringify(d)),
        ],
      );
    };
    const service = encryption;
    const stalled = () => `encryption-service log (last lines):\n${service.log().split('\n').slice(-5).join('\n').slice(-3000)}`;
    console.log(`encryption-service ${encryption.url} (pid ${encryption.pid}, dist built ${encryption.builtAt.toISOString()})`);
    console.log(
      {
        lease: 'personal data sealed in process with subject keys leased from encryption-service (audit-service default)',
        call: 'personal data sealed by encryption-service, one call per batch of up to 1,000 records (--sealing call)',
        both: 'user records twice per round: sealed with leased subject keys (user/lease) and by encryption-service calls (user/call)',
      }[options.sealing],
    );
    let t0 = performance.now();
    await warmSubjectKeys(audit, options.shape, options.tenantIds);
    console.log(
      `subject keyrings and ${options.shape.tenants * options.shape.usersPerTenant} subject keys created in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    await audit.runtime.relay.start();

    const measurements: Measurement[] = [];
    let batch = 0;
    for (let round = 0; round < options.rounds; round += 1) {
      const cases = casesOf(options);
      // Rotate the order every round, so no case always runs first (or on the smallest log).
      const ordered = cases.map((_, i) => cases[(i + round) % cases.length]!);
      for (const [m, current] of ordered.entries()) {
        const { mix } = current;
        const prefix = `bench-${run}-${String(batch++).padStart(3, '0')}`;
        const groups = { plain: `bench-audit-plain-${prefix}`, merkle: `bench-audit-merkle-${prefix}` };
        for (const group of Object.values(groups))
          await startGroupAtEnd(kafka, brokerName(kafka, group), brokerName(kafka, EventTypes.auditRecord));
        const others = await waitForNoOtherAuditService(180_000, (line) => console.log(line));
        if (others > 0) console.log(`${others} other audit-service process(es) still running: they will ingest this batch too`);
        const produced = await produce(kafka, mix, prefix, options);
        // Alternate which path reads first, so neither always gets the warmer caches.
        const paths: Path[] = (round + m) % 2 === 0 ? ['plain', 'merkle'] : ['merkle', 'plain'];
        const results: string[] = [];
        for (const path of paths) {
          const checkpointsBefore = await countCheckpoints(dataSource);
          const callsBefore = audit.sealingCalls();
          let result: Awaited<ReturnType<typeof consume>>;
          if (path === 'plain') {
            result = await consume(
              kafka,
              dataSource,
              groups.plain,
              prefix,
              plainHandler,
              options,
              encryption.pid,
              stalled,
              current.inbox === 'pipelined',
            );
          } else {
            const checkpoints = audit.newCheckpointScheduler();
            const append = new AppendAuditRecordsUseCase(audit.personalDataFor(current.sealing), checkpoints.scheduler);
            await checkpoints.start();
            const profiler = options.cpuProfileDir ? await startProfiler() : undefined;
            result = await consume(
              kafka,
              dataSource,
              groups.merkle,
              prefix,
              (events, manager) => append.execute(events, manager),
              options,
              encryption.pid,
              stalled,
              current.inbox === 'pipelined',
            );
            if (profiler) {
              const name = current.name.replace(/[/@]/g, '-');
              writeFileSync(join(options.cpuProfileDir!, `merkle-${name}-round${round}.cpuprofile`), await profiler.stop());
            }
            await checkpoints.stop();
          }
          const measurement: Measurement = {
            round,
            caseName: current.name,
            path,
            ...result,
            checkpoints: (await countCheckpoints(dataSource)) - checkpointsBefore,
            sealCalls: audit.sealingCalls() - callsBefore,
          };
          measurements.push(measurement);
          results.push(
            `${path} ${result.perSecond.toFixed(0)}/s (CPU us/record ${formatMicros(result.micros)}; ${result.batches} batches, none in the handler ${(100 * result.handlerIdle).toFixed(0)} % of the time; other cores ${result.otherCores.toFixed(2)})`,
          );
        }
        console.log(`round ${round + 1} ${current.name}: produced ${options.records} in ${produced.toFixed(1)} s; ${results.join('; ')}`);
      }
    }
    await audit.runtime.relay.stop();

    t0 = performance.now();
    const check = await checkLog(dataSource, options.records * options.rounds * casesOf(options).length);
    console.log(`\nlog check (${((performance.now() - t0) / 1000).toFixed(1)} s): ${check}`);
    printIngestTable(measurements, options);
    console.log(`\n${machineLoad()} at the end`);
  } finally {
    await audit?.runtime.relay.stop().catch(() => undefined);
    await audit?.close();
    await dropSchema();
    await encryption?.stop();
    forget();
  }
}

async function startProfiler(): Promise<{ stop(): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return JSON.stringify(profile);
    },
  };
}

/**
 * Nothing dropped, nothing doubled, each tenant's records in production order, and every tenant log
 * verifies (signatures, leaf hashes, nodes, roots at every checkpoint) with audit-service's verifier.
 */
async function checkLog(dataSource: DataSource, expected: number): Promise<string> {
  const [counts] = await dataSource.query<{ records: number; events: number }[]>(
    `SELECT count(*)::int AS records, count(DISTINCT event_id)::int AS events FROM audit_records WHERE source = $1`,
    [SOURCE],
  );
  const [order] = await dataSource.query<{ out_of_order: number }[]>(
    `SELECT count(*) FILTER (WHERE request_id COLLATE "C" < previous COLLATE "C")::int AS out_of_order
       FROM (SELECT request_id, lag(request_id) OVER (PARTITION BY tenant_id ORDER BY leaf_index) AS previous
               FROM audit_records WHERE source = $1) AS ordered`,
    [SOURCE],
  );
  const tenants = (await dataSource.query<{ tenant_id: string }[]>('SELECT tenant_id FROM audit_log_heads ORDER BY tenant_id')).map(
    (r) => r.tenant_id,
  );
  const query = async <T>(sql: string, params: unknown[] = []) => dataSource.query<T[]>(sql, params);
  const reports = [];
  for (const tenant of tenants) reports.push(await verifyAuditLog(query, tenant));
  const failed = reports.filter((r) => !r.ok);
  const ok = counts!.records === expected && counts!.events === expected && order!.out_of_order === 0 && failed.length === 0;
  if (!ok) process.exitCode = 2;
  return (
    `${ok ? 'OK' : 'FAILED'}: ${counts!.records} bench records in the log (expected ${expected}), ${counts!.events} distinct event ids, ` +
    `${order!.out_of_order} out of order; verifier: ${reports.length - failed.length}/${reports.length} tenant logs verify ` +
    `(${reports.reduce((n, r) => n + r.checkpointsVerified, 0)} checkpoints)` +
    (failed.length > 0 ? ` — ${JSON.stringify(failed[0])}` : '')
  );
}

const SERVICE_GROUPS: readonly CpuGroup[] = ['bench', 'postgres', 'encryption-service', 'kafka', 'pg background'];

function formatMicros(micros: Map<CpuGroup, number>): string {
  return SERVICE_GROUPS.map((group) => `${group} ${(micros.get(group) ?? 0).toFixed(0)}`).join(', ');
}

function printIngestTable(measurements: readonly Measurement[], options: IngestOptions): void {
  const { shape } = options;
  console.log(
    `\ningest: ${options.records} records per run, ${options.rounds} rounds, ${shape.tenants} tenants, ` +
      `${shape.services} service actors, ${shape.tenants * shape.usersPerTenant} data subjects; ` +
      `partitions consumed concurrently: ${options.concurrency ?? "InboxConsumer's default"}; inbox: ${options.inbox}; median of the rounds, [min–max]\n`,
  );
  const inboxNote = ({ inbox }: Case) => (options.inbox === 'both' ? `, ${inbox} inbox` : '');
  const label = (current: Case, path: Path) =>
    (path === 'plain'
      ? `plain multi-row INSERT + inbox (baseline), ${current.mix === 'service' ? 'service actors' : 'user actors'}`
      : current.mix === 'service'
        ? 'Merkle log + inbox, service actors (no data subject)'
        : `Merkle log + inbox, user actors (ip/userAgent/fingerprint sealed ${current.sealing === 'lease' ? 'with leased subject keys' : 'by encryption-service calls'})`) +
    inboxNote(current);
  const cases = casesOf(options);
  const rows: string[][] = [];
  for (const current of cases) {
    for (const path of ['plain', 'merkle'] as const) {
      const runs = measurements.filter((m) => m.caseName === current.name && m.path === path);
      const rates = runs.map((m) => m.perSecond);
      const micros = (group: CpuGroup) => median(runs.map((m) => m.micros.get(group) ?? 0)).toFixed(0);
      const total = median(runs.map((m) => SERVICE_GROUPS.reduce((sum, group) => sum + (m.micros.get(group) ?? 0), 0)));
      rows.push([
        label(current, path),
        `${median(rates).toFixed(0)}`,
        `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`,
        path === 'merkle' ? String(runs.reduce((n, m) => n + m.checkpoints, 0)) : '',
        path === 'merkle' && current.mix === 'user' ? String(runs.reduce((n, m) => n + m.sealCalls, 0)) : '',
        SERVICE_GROUPS.map(micros).join(' / '),
        total.toFixed(0),
        (2e6 / total).toFixed(0),
        median(runs.map((m) => m.otherCores)).toFixed(2),
      ]);
    }
  }
  printTable(
    [
      'path',
      'records/s',
      'range',
      'checkpoints',
      'encryption-service calls',
      `CPU µs/record: ${SERVICE_GROUPS.join(' / ')}`,
      'total',
      'records/s the 2 cores allow',
      'other load (cores)',
    ],
    rows,
    [1, 2, 3, 4, 6, 7, 8],
  );
}
