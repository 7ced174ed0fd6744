/* eslint-disable no-console -- a bench prints its figures */
// The 10-million-record log: built once by calling the append path directly (appendToLogs, in
// batches, with a signed checkpoint after each batch, personal fields of user records sealed by the
// real encryption-service; the secondary indexes dropped during the load and built at its end),
// kept in schema bench_audit_10m (and its encryption-service schema) for --reuse; then inclusion-proof
// and search-by-actor latencies on it, through the code the HTTP API runs.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { newEventId } from '@traceo/contracts';
import { leafHash, verifyInclusion } from '@traceo/merkle';
import { loadInfraEnv, withClient } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { AuditProofsUseCase, type InclusionProofView } from '../../apps/audit-service/src/audit-log/audit-proofs.usecase';
import { issueCheckpoints, registerSigningKey } from '../../apps/audit-service/src/audit-log/checkpoints';
import { appendToLogs, readHead, type NewLogRecord } from '../../apps/audit-service/src/audit-log/merkle-log.repository';
import {
  SearchAuditRecordsUseCase,
  searchStatement,
  type AuditSearchPage,
} from '../../apps/audit-service/src/forensic-search/search-audit-records.usecase';
import { FORENSIC_SEARCH_INDEXES } from '../../apps/audit-service/src/migrations/1764000000200-AddForensicSearchColumns';
import { openBenchAuditRuntime, type BenchAuditRuntime } from './audit-runtime';
import { startEncryptionService, type BenchEncryptionService } from './encryption-service';
import { benchRecord, formatBytes, latencySummary, machineLoad, onInterrupt, printTable, type Mix, type MixShape } from './support';
import { benchNamespace } from '../kafka-namespace';

const SCHEMA = 'bench_audit_10m';
const ENCRYPTION_SCHEMA = 'bench_audit_10m_enc';
const TENANT = 'bench-10m';
const BATCH = 10_000;
/** Who the measured searches are recorded as (audit.searched). */
const SEARCHER = { actor: { type: 'user', id: 'bench-analyst' } } as const;
/** One tenant; every other record is a user's (20,000 users, ~250 records each), the rest 50 services' (~100,000 each). */
const SHAPE: MixShape = { tenants: 1, services: 50, usersPerTenant: 20_000 };

export interface LargeLogOptions {
  readonly records: number;
  readonly samples: number;
  readonly reuse: boolean;
}

async function schemaExists(databaseUrl: string, schema: string): Promise<boolean> {
  return withClient(
    databaseUrl,
    async (client) => (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1,
  );
}

export async function dropLargeLog(): Promise<void> {
  const { databaseUrl } = loadInfraEnv();
  await withClient(databaseUrl, async (client) => {
    for (const schema of [SCHEMA, ENCRYPTION_SCHEMA]) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  console.log(`dropped ${SCHEMA} and ${ENCRYPTION_SCHEMA}`);
}

function recordsFor(from: number, to: number): NewLogRecord[] {
  const out: NewLogRecord[] = [];
  for (let n = from; n < to; n += 1) {
    const mix: Mix = n % 2 === 0 ? 'service' : 'user';
    const { record } = benchRecord(mix, Math.floor(n / 2), `large-${String(n).padStart(9, '0')}`, SHAPE);
    out.push({ eventId: newEventId(), source: '/bench/audit', record });
  }
  return out;
}

/**
 * The secondary indexes of audit_records (the migrations' definitions). A bulk load builds them once at
 * the end, as one would when loading an archive: the rows, leaves, tiles and checkpoints are what the
 * append path writes either way; only the order of the index work differs.
 */
const SECONDARY_INDEXES: Record<string, string> = {
  audit_records_event: '(event_id)',
  ...FORENSIC_SEARCH_INDEXES,
};

async function dropSecondaryIndexes(dataSource: DataSource): Promise<void> {
  for (const name of Object.keys(SECONDARY_INDEXES)) await dataSource.query(`DROP INDEX IF EXISTS "${SCHEMA}"."${name}"`);
}

/** Creates whichever secondary index is missing (after a bulk load, or one interrupted before its end). */
async function ensureSecondaryIndexes(dataSource: DataSource): Promise<void> {
  await dataSource.transaction(async (manager) => {
    await manager.query(`SET LOCAL maintenance_work_mem = '1GB'`);
    for (const [name, definition] of Object.entries(SECONDARY_INDEXES)) {
      const started = performance.now();
      const existing = await manager.query<unknown[]>('SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [SCHEMA, name]);
      if (existing.length > 0) continue;
      await manager.query(`CREATE INDEX ${name} ON audit_records ${definition}`);
      console.log(`  index ${name} built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  });
}

/** Appends records [from, to) in batches of BATCH, sealing the next batch while the current one is appended. */
async function build(audit: BenchAuditRuntime, from: number, to: number): Promise<void> {
  const { dataSource, signer, publisher, personalData } = audit;
  const started = performance.now();
  let reported = started;
  const seal = (start: number) => personalData.protect(TENANT, recordsFor(start, Math.min(to, start + BATCH)));
  let next = from < to ? seal(from) : undefined;
  for (let start = from; start < to; start += BATCH) {
    const records = await next!;
    next = start + BATCH < to ? seal(start + BATCH) : undefined;
    await dataSource.transaction((manager) => appendToLogs(manager, new Map([[TENANT, records]])));
    await issueCheckpoints(dataSource, signer, publisher);
    const done = Math.min(to, start + BATCH);
    if (performance.now() - reported > 60_000 || done === to) {
      reported = performance.now();
      const seconds = (reported - started) / 1000;
      console.log(`  ${done} records (${((done - from) / seconds).toFixed(0)}/s over ${seconds.toFixed(0)} s), ${machineLoad()}`);
    }
  }
}

async function diskUsage(dataSource: DataSource, schema: string): Promise<{ name: string; table: number; indexes: number }[]> {
  return (
    await dataSource.query<{ name: string; table: string; indexes: string }[]>(
      `SELECT CASE WHEN c.relname LIKE 'audit_records%' THEN 'audit_records (all partitions)' ELSE c.relname END AS name,
              sum(pg_table_size(c.oid))::bigint AS table, sum(pg_indexes_size(c.oid))::bigint AS indexes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind = 'r'
        GROUP BY 1 ORDER BY sum(pg_total_relation_size(c.oid)) DESC`,
      [schema],
    )
  ).map((row) => ({ name: row.name, table: Number(row.table), indexes: Number(row.indexes) }));
}

export async function runLargeLog(options: LargeLogOptions): Promise<void> {
  const infra = loadInfraEnv();
  const run = randomBytes(4).toString('hex');
  if ((await schemaExists(infra.databaseUrl, SCHEMA)) && !options.reuse) {
    throw new Error(`${SCHEMA} exists: pass --reuse to measure on it (and finish building it), or --drop to remove it`);
  }
  let encryption: BenchEncryptionService | undefined;
  let audit: BenchAuditRuntime | undefined;
  // Interrupted, the large log stays: --reuse finishes building it.
  const forget = onInterrupt(async () => encryption?.stop({ dropSchema: false }));
  try {
    encryption = await startEncryptionService(ENCRYPTION_SCHEMA, run);
    audit = await openBenchAuditRuntime(SCHEMA, encryption, 10, benchNamespace(run));
    const { dataSource } = audit;
    await registerSigningKey(dataSource, audit.signer);
    const size = (await readHead(dataSource, TENANT))?.size ?? 0;
    if (size < options.records) {
      console.log(
        `\nbuilding the large log in ${SCHEMA}: records ${size}..${options.records} (appendToLogs, batches of ${BATCH}; secondary indexes built at the end)`,
      );
      await dropSecondaryIndexes(dataSource);
      await build(audit, size, options.records);
    } else {
      console.log(`\nreusing ${SCHEMA}: ${size} records`);
    }
    await ensureSecondaryIndexes(dataSource);
    await dataSource.query('ANALYZE audit_records');
    await issueCheckpoints(dataSource, audit.signer, audit.publisher);
    // Pass 1 meets the cache as it is (after a restart or other work: mostly cold); pass 2 runs after
    // every relation of the log has been read into the OS page cache, the steady state of a server
    // whose memory holds its log (14 GiB here, on a 24 GiB machine).
    await measure(audit, options.samples, 'pass 1, cache as found');
    await prewarm(dataSource);
    await measure(audit, options.samples, 'pass 2, after pg_prewarm');
    await printDiskUsage(dataSource, await readHead(dataSource, TENANT).then((head) => head?.size ?? 0));
  } finally {
    await audit?.close();
    // The encryption-service schema holds the subject keys the large log's ciphertexts need: kept with it.
    await encryption?.stop({ dropSchema: false });
    forget();
  }
}

/**
 * Reads every relation of the large log (partitions, their TOAST tables, every index, the tiles) with
 * pg_prewarm's 'read' mode: through the OS page cache, not into PostgreSQL's 256 MB of shared buffers.
 * The extension is created by tools/infra (EXECUTE granted to the owner role only).
 */
async function prewarm(dataSource: DataSource): Promise<void> {
  const started = performance.now();
  const relations = await dataSource.query<{ oid: number }[]>(
    `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'i')
     UNION ALL
     SELECT t.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class t ON t.oid = c.reltoastrelid
      WHERE n.nspname = $1 AND c.relkind = 'r'
     UNION ALL
     SELECT i.indexrelid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indrelid = c.reltoastrelid
      WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [SCHEMA],
  );
  let blocks = 0;
  for (const { oid } of relations) {
    const [row] = await dataSource.query<{ blocks: string }[]>(`SELECT public.pg_prewarm($1::regclass, 'read') AS blocks`, [oid]);
    blocks += Number(row!.blocks);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\npg_prewarm read ${relations.length} relations, ${formatBytes(blocks * 8192)}, in ${seconds.toFixed(0)} s; ${machineLoad()}`,
  );
}

async function measure(audit: BenchAuditRuntime, samples: number, pass: string): Promise<void> {
  const { dataSource } = audit;
  const proofs = new AuditProofsUseCase(audit.runtime);
  const search = new SearchAuditRecordsUseCase(audit.runtime, audit.publisher, audit.personalData);
  const checkpoint = await proofs.checkpoint(TENANT);
  const root = Buffer.from(checkpoint.rootHash, 'base64');
  const size = checkpoint.treeSize;
  const randomLeaf = () => Math.floor(Math.random() * size);
  // Event ids of random leaves, read before the clock starts.
  const eventIds = (
    await dataSource.query<{ event_id: string }[]>(
      'SELECT event_id FROM audit_records WHERE tenant_id = $1 AND leaf_index = ANY($2::bigint[])',
      [TENANT, Array.from({ length: samples }, randomLeaf)],
    )
  ).map((row) => row.event_id);
  const users = Math.min(SHAPE.usersPerTenant, Math.ceil(size / 2));
  const randomUser = () => `user-${Math.floor(Math.random() * users)}`;
  const randomService = () => `svc-${Math.floor(Math.random() * SHAPE.services)}`;
  let proofsVerified = 0;
  // Each kind does one timed call and returns an untimed check of its answer (records returned, for searches).
  const checkProof = (view: InclusionProofView) => () => {
    const proof = view.proof.map((p) => Buffer.from(p, 'base64'));
    verifyInclusion(view.leafIndex, view.treeSize, leafHash(Buffer.from(view.entry, 'utf8')), proof, root);
    proofsVerified += 1;
    return undefined;
  };
  const checkPage = (page: AuditSearchPage) => () => {
    if (page.records.some((r) => r.personalData !== undefined && r.personalData !== 'revealed'))
      throw new Error('a searched record could not be revealed');
    return page.records.length;
  };
  const kinds: Record<string, (i: number) => Promise<() => number | undefined>> = {
    proofByLeaf: async () => checkProof(await proofs.inclusion(TENANT, { leafIndex: randomLeaf() })),
    proofByEvent: async (i) => checkProof(await proofs.inclusion(TENANT, { eventId: eventIds[i % eventIds.length]! })),
    searchUser: async () => checkPage(await search.search(TENANT, { actorId: randomUser(), limit: 100 }, SEARCHER)),
    searchUserSql: async () => {
      const rows = await sqlSearch(dataSource, randomUser());
      return () => rows.length;
    },
    searchService: async () => checkPage(await search.search(TENANT, { actorId: randomService(), limit: 100 }, SEARCHER)),
    searchServiceSql: async () => {
      const rows = await sqlSearch(dataSource, randomService());
      return () => rows.length;
    },
  };
  const times: Record<string, number[]> = {};
  const returned: Record<string, number[]> = {};
  console.log(
    `\n${pass}: measuring on a tree of ${size} (checkpoint ${checkpoint.keyId}), ${samples} samples of each, interleaved; ${machineLoad()}`,
  );
  const started = performance.now();
  for (let i = 0; i < samples; i += 1) {
    for (const [name, run] of Object.entries(kinds)) {
      const t0 = performance.now();
      const check = await run(i);
      (times[name] ??= []).push(performance.now() - t0);
      const count = check();
      if (count !== undefined) (returned[name] ??= []).push(count);
    }
  }
  const avg = (name: string) => ((returned[name] ?? []).reduce((a, b) => a + b, 0) / Math.max(1, returned[name]?.length ?? 0)).toFixed(0);
  console.log(
    `measured in ${((performance.now() - started) / 1000).toFixed(0)} s; ${proofsVerified} proofs verified against the signed checkpoint root; ${machineLoad()}\n`,
  );
  printTable(
    ['measurement', 'samples', 'p50 / p95 / p99 ms'],
    [
      [
        `inclusion proof by leaf index, tree of ${size} (AuditProofsUseCase.inclusion: checkpoint, head, record, stored nodes)`,
        String(samples),
        latencySummary(times.proofByLeaf!),
      ],
      ['inclusion proof by event id (same, record found by event_id)', String(samples), latencySummary(times.proofByEvent!)],
      [
        `search by actor, random user (SearchAuditRecordsUseCase.search, page of 100 newest: ${avg('searchUser')} records, personal fields revealed by encryption-service, audit.searched recorded)`,
        String(samples),
        latencySummary(times.searchUser!),
      ],
      ['search by actor, random user, its SQL alone (searchStatement)', String(samples), latencySummary(times.searchUserSql!)],
      [
        `search by actor, random service (SearchAuditRecordsUseCase.search, ${avg('searchService')} of ~${Math.round(size / 2 / SHAPE.services)} records)`,
        String(samples),
        latencySummary(times.searchService!),
      ],
      ['search by actor, random service, its SQL alone', String(samples), latencySummary(times.searchServiceSql!)],
    ],
    [1, 2],
  );
}

async function printDiskUsage(dataSource: DataSource, size: number): Promise<void> {
  const usage = [
    ...(await diskUsage(dataSource, SCHEMA)).map((u) => ({ ...u, name: `${SCHEMA}.${u.name}` })),
    ...(await diskUsage(dataSource, ENCRYPTION_SCHEMA)).map((u) => ({ ...u, name: `${ENCRYPTION_SCHEMA} (subject keys etc.)` })),
  ];
  const merged = new Map<string, { table: number; indexes: number }>();
  for (const u of usage) {
    const name = u.name.startsWith(SCHEMA + '.') && !/audit_records|audit_tree_tiles/.test(u.name) ? `${SCHEMA} other tables` : u.name;
    const entry = merged.get(name) ?? { table: 0, indexes: 0 };
    merged.set(name, { table: entry.table + u.table, indexes: entry.indexes + u.indexes });
  }
  const total = [...merged.values()].reduce((n, u) => n + u.table + u.indexes, 0);
  console.log(`\ndisk used (pg_table_size / pg_indexes_size):\n`);
  printTable(
    ['relation', 'table (heap + TOAST)', 'indexes', 'total', 'bytes per record'],
    [...merged.entries()]
      .map(([name, u]) => [
        name,
        formatBytes(u.table),
        formatBytes(u.indexes),
        formatBytes(u.table + u.indexes),
        ((u.table + u.indexes) / size).toFixed(0),
      ])
      .concat([['total', '', '', formatBytes(total), (total / size).toFixed(0)]]),
    [1, 2, 3, 4],
  );
}

async function sqlSearch(dataSource: DataSource, actorId: string): Promise<unknown[]> {
  const { sql, params } = searchStatement(TENANT, { actorId }, undefined, 100);
  return dataSource.query(sql, params);
}
