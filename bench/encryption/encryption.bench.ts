// bench/encryption — encryption-service throughput and latency, each beside a baseline measured in the
// same run: field encryption in process against raw AES-256-GCM; HTTP batch encrypt/decrypt against
// the real built service (KEK in SoftHSM2, PostgreSQL, Kafka) beside a bare node:http server; single-
// field HTTP latency; hybrid-pq key wrapping against raw ML-KEM-768. Not a test: nothing is asserted.
//
//   npm run bench:encryption -- [--seconds 10] [--warmup 3] [--concurrency 4,8,16] [--batch 100]
//     [--samples 2000] [--rounds 7] [--round-ms 300] [--port 4417] [--log-level info]
//     [--profile] [--build worktree|head] [--no-build] [--only inprocess|http] [--service-main <main.js of another build>]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTsProcess, WORKSPACE_ROOT } from '@traceo/testing';
import { closedLoop, post, sequentialLatencies, type LoadResult } from './http-load';
import { fieldCryptoRates, kemRates } from './in-process';
import { coresUsed, cpuSnapshot, formatCores, type CpuSnapshot } from './cpu';
import { formatRate, percentile, print } from './measure';
import { freePortFrom } from '../built-service';
import { profileRun } from './profile';
import { API_KEY, buildService, keyAdminHeaders, startService, type BenchService } from './service-process';

const argv = process.argv.slice(2);
const flags = new Set(argv.filter((arg) => arg.startsWith('--')));
const args = new Map(
  argv.flatMap((arg, i, all) => (arg.startsWith('--') && all[i + 1] && !all[i + 1]!.startsWith('--') ? [[arg.slice(2), all[i + 1]!]] : [])),
);
const SECONDS = Number(args.get('seconds') ?? 10);
const WARMUP = Number(args.get('warmup') ?? 3);
const CONCURRENCY = (args.get('concurrency') ?? '4,8,16').split(',').map(Number);
const BATCH = Number(args.get('batch') ?? 100);
const SAMPLES = Number(args.get('samples') ?? 2000);
const ROUNDS = Number(args.get('rounds') ?? 7);
const ROUND_MS = Number(args.get('round-ms') ?? 300);
const PORT = Number(args.get('port') ?? 4417);
const LOG_LEVEL = args.get('log-level') ?? 'info';
const ONLY = args.get('only');
const BUILD = args.get('build') ?? 'worktree';
if (BUILD !== 'worktree' && BUILD !== 'head') throw new Error('--build is worktree (default) or head');
const HEADERS = { authorization: `Bearer ${API_KEY}` };

interface Row {
  part: string;
  measurement: string;
  target: string;
  measured: string;
  result: 'PASS' | 'MISS' | '';
}

const rows: Row[] = [];
const cpuLines: string[] = [];
const notes: string[] = [];
/** Cores used by other work on the machine above which a line is flagged as disturbed. */
const NOISY_CORES = 0.25;
const verdict = (ok: boolean): 'PASS' | 'MISS' => (ok ? 'PASS' : 'MISS');
const ratio = (value: number) => `${value.toFixed(2)}x`;

/** " [DISTURBED …]" when processes other than the bench used more than NOISY_CORES since `before`. */
function inProcessDisturbance(before: CpuSnapshot): string {
  const cores = coresUsed(before, cpuSnapshot(undefined));
  const others = (cores.get('other') ?? 0) + (cores.get('postgres') ?? 0) + (cores.get('kafka') ?? 0);
  return others > NOISY_CORES ? ` [DISTURBED: other work used ${others.toFixed(2)} cores]` : '';
}

function inProcess(): void {
  for (const size of [64, 1024]) {
    const before = cpuSnapshot(undefined);
    const r = fieldCryptoRates(size, ROUNDS, ROUND_MS);
    const disturbed = inProcessDisturbance(before);
    const label = size === 64 ? '64 B' : '1 KiB';
    for (const [op, field, raw, rawKeyObject] of [
      ['encrypt', r.fieldEncrypt, r.rawEncrypt, r.rawKeyObjectEncrypt],
      ['decrypt', r.fieldDecrypt, r.rawDecrypt, r.rawKeyObjectDecrypt],
    ] as const) {
      rows.push({
        part: '1',
        measurement: `${op} ${label}: encryptField/decryptField vs raw GCM (key bytes per call)`,
        target: '>= 0.70x',
        measured: `${formatRate(field)} vs ${formatRate(raw)} ops/s = ${ratio(field / raw)}${disturbed}`,
        result: verdict(field / raw >= 0.7),
      });
      rows.push({
        part: '1',
        measurement: `${op} ${label}: same, vs raw GCM with a KeyObject made once`,
        target: '>= 0.70x',
        measured: `${formatRate(field)} vs ${formatRate(rawKeyObject)} ops/s = ${ratio(field / rawKeyObject)}${disturbed}`,
        result: verdict(field / rawKeyObject >= 0.7),
      });
    }
  }
  const before = cpuSnapshot(undefined);
  const { serviceKem, rates } = kemRates(ROUNDS, ROUND_MS);
  const disturbed = inProcessDisturbance(before);
  const rate = (name: string) => rates.get(name)!;
  for (const [name, label] of [
    ['native', 'native ML-KEM-768 (node:crypto, OpenSSL), keys imported once'],
    ['noble', '@noble/post-quantum ml_kem768'],
    ['noble x-wing', '@noble/post-quantum ml_kem768_x25519 (X-Wing)'],
    ['node x-wing', `libs/crypto nodeXWing (X-Wing on node:crypto)`],
  ] as const) {
    rows.push({
      part: '4',
      measurement: `${label}: encaps / decaps / pair`,
      target: '',
      measured: `${formatRate(rate(`${name} encapsulate`))} / ${formatRate(rate(`${name} decapsulate`))} / ${formatRate(rate(`${name} pair`))} ops/s`,
      result: '',
    });
  }
  for (const [name, native] of [
    ['wrapKey', 'native encapsulate'],
    ['unwrapKey', 'native decapsulate'],
    ['wrapKey+unwrapKey pair', 'native pair'],
  ] as const) {
    rows.push({
      part: '4',
      measurement: `hybrid-pq ${name} (libs/crypto, ${serviceKem} X-Wing) vs ${native}`,
      target: '>= 0.80x',
      measured: `${formatRate(rate(name))} vs ${formatRate(rate(native))} ops/s = ${ratio(rate(name) / rate(native))}${disturbed}`,
      result: verdict(rate(name) / rate(native) >= 0.8),
    });
  }
}

function encryptBodies(count: number, batch: number): Buffer[] {
  return Array.from({ length: count }, (_, n) =>
    Buffer.from(
      JSON.stringify({
        fields: Array.from({ length: batch }, (_, i) => ({
          field: 'email',
          recordId: `rec-${n}-${i}`,
          // About 32 bytes, like an e-mail address.
          plaintext: `user-${String(n * batch + i).padStart(8, '0')}@example-mail.com`,
        })),
      }),
    ),
  );
}

/** Encrypts each body once and answers the matching decrypt bodies. */
async function decryptBodiesFor(service: BenchService, path: string, bodies: readonly Buffer[]): Promise<Buffer[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out: Buffer[] = [];
  for (const body of bodies) {
    const reply = await post(agent, new URL(`${path}/encrypt`, service.url), body, HEADERS);
    if (reply.status !== 200) throw new Error(`encrypt failed: ${reply.status} ${reply.body}`);
    const { results } = JSON.parse(reply.body) as { results: { ciphertext: string }[] };
    const { fields } = JSON.parse(body.toString('utf8')) as { fields: { field: string; recordId: string }[] };
    out.push(
      Buffer.from(
        JSON.stringify({ fields: fields.map((f, i) => ({ field: f.field, recordId: f.recordId, ciphertext: results[i]!.ciphertext })) }),
      ),
    );
  }
  agent.destroy();
  return out;
}

function loadLine(result: LoadResult): string {
  const failures = result.failedRequests > 0 ? `, ${result.failedRequests} failed requests (${result.firstFailure})` : '';
  const other = result.cores.get('other') ?? 0;
  const disturbed = other > NOISY_CORES ? ` [DISTURBED: other work used ${other.toFixed(2)} cores]` : '';
  const service = result.cores.get('service');
  // Service CPU per request is steadier than throughput when other work shares the cores.
  const cpu = service === undefined ? '' : `, service CPU ${((service * 1000) / result.requestsPerSecond).toFixed(2)} ms/req`;
  return `${formatRate(result.fieldsPerSecond)} fields/s (${result.requestsPerSecond.toFixed(0)} req/s, p50/p99 ${percentile(result.latencies, 0.5).toFixed(1)}/${percentile(result.latencies, 0.99).toFixed(1)} ms${cpu}${failures})${disturbed}`;
}

/** The service's main.js: --service-main as given, or a fresh build (--build worktree|head), or dist/ as it is (--no-build). */
function serviceMain(): string {
  const given = args.get('service-main');
  if (given) return given;
  if (flags.has('--no-build')) return join(WORKSPACE_ROOT, 'dist', 'apps', 'encryption-service', 'main.js');
  return buildService(BUILD === 'head' ? 'head' : 'worktree');
}

async function createKeyring(service: BenchService, tenant: string, keyringId: string): Promise<string> {
  const base = `/v1/encryption/tenants/${tenant}/keyrings`;
  const created = await fetch(new URL(base, service.url), {
    method: 'POST',
    headers: { ...(await keyAdminHeaders(tenant)), 'content-type': 'application/json' },
    body: JSON.stringify({ keyringId }),
  });
  if (created.status !== 201) throw new Error(`keyring not created: ${created.status} ${await created.text()}`);
  return `${base}/${keyringId}`;
}

async function rawBaseline(port: number, bodies: readonly Buffer[]): Promise<Map<number, LoadResult>> {
  const server = startTsProcess(join(WORKSPACE_ROOT, 'bench', 'encryption', 'raw-http-server.ts'), { BENCH_RAW_HTTP_PORT: String(port) });
  const results = new Map<number, LoadResult>();
  try {
    await server.ready;
    for (const concurrency of CONCURRENCY) {
      results.set(
        concurrency,
        await closedLoop({
          url: new URL(`http://127.0.0.1:${port}/encrypt`),
          headers: HEADERS,
          bodies,
          fieldsPerRequest: BATCH,
          concurrency,
          warmupSeconds: WARMUP,
          seconds: SECONDS,
          // The bare server stands in for the service in the CPU accounting.
          servicePid: server.child.pid!,
        }),
      );
    }
  } finally {
    await server.stop();
  }
  return results;
}

async function http(): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const port = await freePortFrom(PORT);
  const main = serviceMain();
  const encryptBodyPool = encryptBodies(64, BATCH);
  const baseline = await rawBaseline(await freePortFrom(port + 1), encryptBodyPool);
  const service = await startService({ port, run, logLevel: LOG_LEVEL, main });
  try {
    const keyring = await createKeyring(service, `tenant-${run}`, 'customers');
    const encryptUrl = new URL(`${keyring}/encrypt`, service.url);
    const decryptUrl = new URL(`${keyring}/decrypt`, service.url);
    const decryptBodyPool = await decryptBodiesFor(service, keyring, encryptBodyPool);
    for (const concurrency of CONCURRENCY) {
      const load = {
        headers: HEADERS,
        fieldsPerRequest: BATCH,
        concurrency,
        warmupSeconds: WARMUP,
        seconds: SECONDS,
        servicePid: service.pid,
      };
      const encrypted = await closedLoop({ ...load, url: encryptUrl, bodies: encryptBodyPool });
      rows.push({
        part: '2',
        measurement: `HTTP encrypt, batches of ${BATCH}, ${concurrency} in flight`,
        target: '>= 50,000 fields/s',
        measured: loadLine(encrypted),
        result: verdict(encrypted.fieldsPerSecond >= 50_000 && encrypted.failedRequests === 0),
      });
      cpuLines.push(`| encrypt, ${concurrency} in flight | ${formatCores(encrypted.cores)} |`);
      const decrypted = await closedLoop({ ...load, url: decryptUrl, bodies: decryptBodyPool });
      rows.push({
        part: '2',
        measurement: `HTTP decrypt, batches of ${BATCH}, ${concurrency} in flight`,
        target: '>= 50,000 fields/s',
        measured: loadLine(decrypted),
        result: verdict(decrypted.fieldsPerSecond >= 50_000 && decrypted.failedRequests === 0),
      });
      cpuLines.push(`| decrypt, ${concurrency} in flight | ${formatCores(decrypted.cores)} |`);
      rows.push({
        part: '2',
        measurement: `baseline: bare node:http + JSON (no service), ${concurrency} in flight`,
        target: '',
        measured: loadLine(baseline.get(concurrency)!),
        result: '',
      });
    }
    const single = encryptBodies(SAMPLES, 1);
    for (const [op, url, bodies] of [
      ['encrypt', encryptUrl, single],
      ['decrypt', decryptUrl, await decryptBodiesFor(service, keyring, single.slice(0, 256))],
    ] as const) {
      const { latencies, failures, cores } = await sequentialLatencies(url, HEADERS, bodies, 200, SAMPLES, service.pid);
      const other = cores.get('other') ?? 0;
      const disturbed = other > NOISY_CORES ? ` [DISTURBED: other work used ${other.toFixed(2)} cores]` : '';
      cpuLines.push(`| ${op} 1 field, sequential | ${formatCores(cores)} |`);
      const p99 = percentile(latencies, 0.99);
      rows.push({
        part: '3',
        measurement: `HTTP ${op} 1 field, sequential, ${SAMPLES} requests: p50 / p95 / p99 / max`,
        target: op === 'encrypt' ? 'p99 < 5 ms' : '',
        measured: `${[0.5, 0.95, 0.99].map((q) => percentile(latencies, q).toFixed(2)).join(' / ')} / ${latencies.at(-1)!.toFixed(2)} ms${failures ? ` (${failures} failed)` : ''}${disturbed}`,
        result: op === 'encrypt' ? verdict(p99 < 5 && failures === 0) : '',
      });
    }
    notes.push(outboxStatus(service));
  } finally {
    await service.stop();
  }
}

/** Whether this service's relay published its outbox (it stands by while another relay holds the lock). */
function outboxStatus(service: BenchService): string {
  return service.log().includes('outbox relay is active')
    ? "the service's outbox relay was active: audit records and key events were published to Kafka during the run"
    : "STANDBY: another encryption-service holds this outbox's relay lock, so Kafka publishing was not exercised";
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  if (flags.has('--profile')) {
    const port = await freePortFrom(PORT);
    await profileRun({
      main: serviceMain(),
      port,
      logLevel: LOG_LEVEL,
      headers: HEADERS,
      encryptBodies: encryptBodies(64, BATCH),
      singleBodies: encryptBodies(SAMPLES, 1),
      batch: BATCH,
      seconds: SECONDS,
      warmup: WARMUP,
      profileDir: mkdtempSync(join(tmpdir(), 'bench-encryption-prof-')),
      createKeyring,
    });
    return;
  }
  if (ONLY !== 'http') inProcess();
  if (ONLY !== 'inprocess') await http();

  print();
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: WORKSPACE_ROOT, encoding: 'utf8' }).trim();
  const build =
    args.get('service-main') ??
    (flags.has('--no-build') ? 'dist/ as found' : BUILD === 'head' ? `commit ${commit}` : `working tree on ${commit}`);
  print(`bench/encryption on ${process.version}, ${cpus().length} cores, ${started}; service built from ${build}`);
  print(
    `HTTP: the bench client, the encryption-service process, PostgreSQL (fsync on) and Kafka all share these ${cpus().length} cores; ` +
      `${SECONDS} s per line after ${WARMUP} s warm-up; service log level ${LOG_LEVEL}. In-process: median of ${ROUNDS} rounds of ${ROUND_MS} ms.`,
  );
  print();
  print('| # | measurement | target | measured | result |');
  print('| - | --- | --- | --- | --- |');
  for (const row of rows) print(`| ${row.part} | ${row.measurement} | ${row.target} | ${row.measured} | ${row.result} |`);
  for (const note of notes) print(`Note: ${note}.`);
  if (cpuLines.length > 0) {
    print();
    print(`Cores used during each HTTP line (of ${cpus().length}; from /proc):`);
    print();
    print('| line | cores used |');
    print('| --- | --- |');
    for (const line of cpuLines) print(line);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
