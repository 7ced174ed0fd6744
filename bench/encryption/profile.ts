// `--profile`: where the service's time goes. Runs the service under `node --cpu-prof`, drives a batch
// encrypt load and sequential single-field encrypts, and attributes the service's main-thread CPU
// samples inside each measured window to stages (innermost recognisable frame wins). Separately
// times, from the bench, the PostgreSQL statements one encrypt request makes.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadInfraEnv } from '@traceo/testing';
import { Client } from 'pg';
import { formatCores } from './cpu';
import { closedLoop, sequentialLatencies } from './http-load';
import { percentile, print } from './measure';
import { startService, type BenchService } from './service-process';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Stage of a frame, or undefined to inherit the caller's. Order matters: first match wins. */
const STAGES: [string, (url: string, fn: string) => boolean][] = [
  ['idle', (_, fn) => fn === '(idle)'],
  ['garbage collection', (_, fn) => fn === '(garbage collector)'],
  ['V8 / native, unattributed', (_, fn) => fn === '(program)'],
  ['zod validation', (url) => url.includes('/zod/')],
  ['crypto (libs/crypto, node:crypto)', (url) => url.includes('@traceo/crypto/') || url.includes('node:internal/crypto')],
  ['JSON.parse of request bodies (body-parser)', (url) => /body-parser|raw-body|iconv-lite/.test(url)],
  ['JSON.stringify of responses (express res.json)', (url, fn) => url.includes('/express/lib/response.js') && fn === 'json'],
  ['logging (pino, pino-http)', (url) => /pino|sonic-boom|fast-redact|on-exit-leak-free/.test(url)],
  ['TypeORM', (url) => url.includes('/typeorm/')],
  ['pg driver (protocol, pool)', (url) => /\/pg\/|pg-protocol|pg-pool|pg-types|postgres-/.test(url)],
  ['kafkajs (outbox relay)', (url) => url.includes('kafkajs')],
  ['outbox / relay (@traceo/messaging)', (url) => url.includes('@traceo/messaging/')],
  ['event envelopes (@traceo/contracts)', (url) => url.includes('@traceo/contracts/')],
  ['service-kit (API-key guard, audit middleware, publisher, pipes)', (url) => url.includes('@traceo/service-kit/')],
  [
    'Nest + express routing and pipeline',
    (url) => /@nestjs\/|\/express\/|\/router\/|path-to-regexp|finalhandler|on-finished|send\/|rxjs/.test(url),
  ],
  [
    'node http / net / streams',
    (url) => /node:_http|node:internal\/http|node:net|node:internal\/stream|node:stream|node:internal\/streams/.test(url),
  ],
  ['other @traceo libs', (url) => url.includes('@traceo/')],
  // The service's own compiled files: whatever is left outside node_modules and Node's internals.
  [
    'encryption-service code (FieldCrypto, DataKeys, KeyEvents, repository)',
    (url) => /^(file:\/\/)?\//.test(url) && !url.includes('/node_modules/'),
  ],
];

function stagesIn(profile: CpuProfile, window: { from: number; to: number }) {
  const stageOf = new Map<number, string>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const visit = (id: number, inherited: string) => {
    const node = byId.get(id)!;
    const own = STAGES.find(([, matches]) => matches(node.callFrame.url, node.callFrame.functionName))?.[0];
    const stage = own ?? inherited;
    stageOf.set(id, stage);
    for (const child of node.children ?? []) visit(child, stage);
  };
  visit(profile.nodes[0]!.id, 'other (node internals, third-party)');
  const totals = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    at += profile.timeDeltas[i]!;
    if (at < window.from || at > window.to) continue;
    const duration = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    const stage = stageOf.get(id)!;
    totals.set(stage, (totals.get(stage) ?? 0) + duration);
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}`;
    if (stage !== 'idle') selfByFunction.set(where, (selfByFunction.get(where) ?? 0) + duration);
  }
  return { totals, selfByFunction };
}

function printStages(title: string, profile: CpuProfile, window: { from: number; to: number }, requests: number): void {
  if (window.from < profile.startTime || window.to > profile.endTime) print(`(warning: the window is outside the profile; clocks differ?)`);
  const { totals, selfByFunction } = stagesIn(profile, window);
  const busy = [...totals].filter(([stage]) => stage !== 'idle').reduce((sum, [, us]) => sum + us, 0);
  const wall = window.to - window.from;
  print();
  print(
    `${title}: ${requests} requests in ${(wall / 1e6).toFixed(1)} s; service main thread busy ${((100 * busy) / wall).toFixed(0)} % of the time,`,
  );
  print(`${(busy / requests / 1000).toFixed(3)} ms of main-thread CPU per request`);
  print();
  print('| stage | ms CPU per request | share of busy time |');
  print('| --- | ---: | ---: |');
  for (const [stage, us] of [...totals].filter(([s]) => s !== 'idle').sort((a, b) => b[1] - a[1])) {
    print(`| ${stage} | ${(us / requests / 1000).toFixed(3)} | ${((100 * us) / busy).toFixed(1)} % |`);
  }
  print();
  print('top self time:');
  for (const [where, us] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    print(`  ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${where}`);
  }
}

/** The statements one encrypt request makes (the SQL of keyring.repository.ts and the outbox), timed one after another from here. */
async function timeStatements(service: BenchService, tenant: string, samples: number): Promise<void> {
  const client = new Client({ connectionString: loadInfraEnv().databaseUrl, options: `-c search_path=${service.schema}` });
  await client.connect();
  try {
    await client.query('CREATE TABLE bench_outbox_probe (LIKE outbox INCLUDING ALL)');
    const payload = 'x'.repeat(900); // an audit record or key event envelope is about this size
    let n = 0;
    const outboxInsert = async (events: number) => {
      const ids = Array.from({ length: events }, () => `probe-${n++}`);
      await client.query(
        `INSERT INTO bench_outbox_probe (event_id, topic, message_key, payload) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
        [ids, ids.map(() => 'bench.probe'), ids.map(() => tenant), ids.map(() => payload)],
      );
    };
    const stages: [string, number, () => Promise<unknown>][] = [
      [
        'keyring + reservation of the encryptions (one statement, autocommit, fsync)',
        1,
        () =>
          client.query(
            `WITH k AS (SELECT tenant_id, keyring_id, purpose, wrapping, pq_public_key, pq_secret_key_wrapped, rotation_period_seconds,
                               max_encryptions_per_version, min_decryption_version, blind_index_token_bytes, created_at, updated_at
                          FROM keyrings WHERE tenant_id = $1 AND keyring_id = $2),
                  r AS (UPDATE key_versions v SET encryptions = v.encryptions + $3, last_used_at = clock_timestamp()
                          FROM k
                         WHERE k.purpose = 'field' AND v.tenant_id = k.tenant_id AND v.keyring_id = k.keyring_id AND v.state = 'active'
                           AND v.encryptions + $3 <= k.max_encryptions_per_version
                     RETURNING v.version, v.state AS version_state, v.wrapping AS version_wrapping, v.wrapped_key, v.kek_id)
             SELECT k.*, r.* FROM k LEFT JOIN r ON true`,
            [tenant, 'customers', 1],
          ),
      ],
      [
        'outbox transaction: BEGIN, INSERT 2 events, COMMIT (fsync)',
        3,
        async () => {
          await client.query('BEGIN');
          await outboxInsert(2);
          await client.query('COMMIT');
        },
      ],
      [
        'HTTP audit transaction: BEGIN, INSERT 1 event, COMMIT (after the response)',
        3,
        async () => {
          await client.query('BEGIN');
          await outboxInsert(1);
          await client.query('COMMIT');
        },
      ],
    ];
    print();
    print(`PostgreSQL statements of one encrypt request, timed one at a time from the bench (${samples} each):`);
    print();
    print('| statement | round trips | p50 ms | p99 ms | bench CPU per execution, ms (pg driver, no TypeORM) |');
    print('| --- | ---: | ---: | ---: | ---: |');
    for (const [name, roundTrips, run] of stages) {
      const times: number[] = [];
      const cpuBefore = process.cpuUsage();
      for (let i = 0; i < samples; i += 1) {
        const started = performance.now();
        await run();
        times.push(performance.now() - started);
      }
      const cpu = process.cpuUsage(cpuBefore);
      times.sort((a, b) => a - b);
      print(
        `| ${name} | ${roundTrips} | ${percentile(times, 0.5).toFixed(3)} | ${percentile(times, 0.99).toFixed(3)} | ${((cpu.user + cpu.system) / samples / 1000).toFixed(3)} |`,
      );
    }
  } finally {
    await client.end();
  }
}

export interface ProfileOptions {
  main: string;
  port: number;
  logLevel: string;
  headers: Record<string, string>;
  encryptBodies: Buffer[];
  singleBodies: Buffer[];
  batch: number;
  seconds: number;
  warmup: number;
  profileDir: string;
  createKeyring(service: BenchService, tenant: string, keyringId: string): Promise<string>;
}

export async function profileRun(options: ProfileOptions): Promise<void> {
  const run = Math.random().toString(16).slice(2, 10);
  const service = await startService({
    port: options.port,
    run,
    logLevel: options.logLevel,
    cpuProfileDir: options.profileDir,
    main: options.main,
  });
  const tenant = `tenant-${run}`;
  let stopped = false;
  try {
    const keyring = await options.createKeyring(service, tenant, 'customers');
    const batch = await closedLoop({
      url: new URL(`${keyring}/encrypt`, service.url),
      headers: options.headers,
      bodies: options.encryptBodies,
      fieldsPerRequest: options.batch,
      concurrency: 8,
      warmupSeconds: options.warmup,
      seconds: options.seconds,
      servicePid: service.pid,
    });
    const single = await sequentialLatencies(
      new URL(`${keyring}/encrypt`, service.url),
      options.headers,
      options.singleBodies,
      200,
      2000,
      service.pid,
    );
    await timeStatements(service, tenant, 500);
    await service.stop();
    stopped = true;
    const file = service.cpuProfile();
    if (!file) throw new Error(`no CPU profile in ${options.profileDir}`);
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    print();
    print(`CPU profile (service log level ${options.logLevel}): ${file}`);
    print(
      `batch encrypt, ${options.batch} fields x 8 in flight: ${batch.fieldsPerSecond.toFixed(0)} fields/s (${batch.requestsPerSecond.toFixed(0)} req/s, under --cpu-prof${batch.failedRequests > 0 ? `, ${batch.failedRequests} failed requests: ${batch.firstFailure}` : ''}); cores used: ${formatCores(batch.cores)}`,
    );
    printStages(`batch encrypt (${options.batch} fields/request, 8 in flight)`, profile, batch.window, batch.requests);
    printStages(
      `single-field encrypt, sequential (p50 ${percentile(single.latencies, 0.5).toFixed(2)} ms, p99 ${percentile(single.latencies, 0.99).toFixed(2)} ms)`,
      profile,
      single.window,
      single.latencies.length,
    );
  } finally {
    if (!stopped) await service.stop();
  }
}
