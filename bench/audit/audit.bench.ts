/* eslint-disable no-console -- a bench prints its figures */
// bench/audit — the audit issue's performance figures. Not a test: nothing is asserted; the figures
// are printed (docs/benchmarks.md explains them).
//
// ingest: N audit events per run are produced to traceo.audit.record.v1 and consumed by an
//   InboxConsumer (inbox row per event, one transaction per Kafka batch, 6 partitions at a time and
//   fetching while applying, as in audit-service; --inbox sequential: kafkajs' fetch-then-apply;
//   --inbox both: both, as cases of every round) twice: by a plain multi-row INSERT baseline and by
//   audit-service's AppendAuditRecordsUseCase (personal fields sealed with subject keys leased from a
//   real encryption-service process, or with --sealing call through it for every batch, or --sealing
//   both: both, as two user cases in every round; canonical JSON, leaf hashes, tree nodes, head
//   frontiers, partitions, search indexes) while the
//   CheckpointScheduler signs checkpoints in SoftHSM2. Two mixes: service actors (no data subject)
//   and user actors (ip, userAgent, device fingerprint sealed). Rounds interleave mixes and paths;
//   medians are reported. Afterwards the log is checked: every record there once, in order, and
//   audit-service's verifier accepts every tenant log.
// large: a 10,000,000-record log of one tenant is built in schema bench_audit_10m by calling the
//   append path (appendToLogs) directly in batches, with a signed checkpoint after each batch
//   (kept for --reuse); then inclusion proofs through AuditProofsUseCase and searches by actor through
//   SearchAuditRecordsUseCase (and its SQL alone), random leaves / random actors, p50/p95/p99.
//
//   npm run bench:audit -- [--part ingest|large|all] [--records 100000] [--rounds 3] [--tenants 16]
//     [--subjects 2000] [--concurrency 2] [--sealing lease|call|both] [--inbox pipelined|sequential|both]
//     [--cpu-profile DIR]
//     [--large-records 10000000] [--samples 2000] [--reuse] [--drop]
import { mkdirSync } from 'node:fs';
import { runIngest } from './ingest';
import { dropLargeLog, runLargeLog } from './large-log';
import { balancedTenantIds, machineLoad, parseArgs } from './support';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.flag('drop')) {
    await dropLargeLog();
    return;
  }
  const part = args.value('part', 'all');
  if (!['ingest', 'large', 'all'].includes(part)) throw new Error('--part must be ingest, large or all');
  const tenants = Number(args.value('tenants', '16'));
  const cpuProfileDir = args.value('cpu-profile', '') || undefined;
  const sealing = args.value('sealing', 'lease');
  if (sealing !== 'lease' && sealing !== 'call' && sealing !== 'both') throw new Error('--sealing must be lease, call or both');
  // audit-service's inbox fetches while it applies (pipelinedInbox in its definition).
  const inbox = args.value('inbox', 'pipelined');
  if (inbox !== 'pipelined' && inbox !== 'sequential' && inbox !== 'both') throw new Error('--inbox must be pipelined, sequential or both');
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
  console.log(`bench/audit on Node ${process.version}, ${new Date().toISOString()}, ${machineLoad()}`);
  if (part !== 'large') {
    await runIngest({
      records: Number(args.value('records', '100000')),
      rounds: Number(args.value('rounds', '3')),
      ...(args.value('concurrency', '') ? { concurrency: Number(args.value('concurrency', '')) } : {}),
      tenantIds: balancedTenantIds(tenants, 'bench-t'),
      shape: { tenants, services: 40, usersPerTenant: Math.max(1, Math.round(Number(args.value('subjects', '2000')) / tenants)) },
      sealing,
      inbox,
      ...(cpuProfileDir ? { cpuProfileDir } : {}),
    });
  }
  if (part !== 'ingest') {
    await runLargeLog({
      records: Number(args.value('large-records', '10000000')),
      samples: Number(args.value('samples', '2000')),
      reuse: args.flag('reuse'),
    });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
