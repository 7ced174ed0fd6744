// A lean closed-loop HTTP client for the bench: node:http with keep-alive sockets (cheaper per
// request than fetch, since it shares the two cores with the service), pre-serialised bodies.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { coresUsed, cpuSnapshot, type CpuGroup } from './cpu';

export interface Reply {
  status: number;
  body: string;
}

export function post(agent: Agent, url: URL, body: Buffer, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface LoadOptions {
  readonly url: URL;
  readonly headers: Record<string, string>;
  /** Request bodies, used round-robin. */
  readonly bodies: readonly Buffer[];
  readonly fieldsPerRequest: number;
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** The service's pid, to tell its CPU use from the rest (see cpu.ts). */
  readonly servicePid?: number;
}

export interface LoadResult {
  readonly concurrency: number;
  readonly requests: number;
  readonly seconds: number;
  readonly fieldsPerSecond: number;
  readonly requestsPerSecond: number;
  /** Requests answered other than 200, and 200 answers with at least one failed field. */
  readonly failedRequests: number;
  readonly failedFields: number;
  /** Request latencies in ms, ascending. */
  readonly latencies: number[];
  readonly firstFailure?: string;
  /** Cores used by each process group during the measured phase. */
  readonly cores: Map<CpuGroup, number>;
  /** process.hrtime of the measured phase, in µs (the clock V8's CPU profiles use). */
  readonly window: { readonly from: number; readonly to: number };
}

/** `concurrency` clients, each posting its next request as soon as the previous one is answered. */
export async function closedLoop(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  let next = 0;
  const phase = async (seconds: number, record: boolean) => {
    const latencies: number[] = [];
    let failedRequests = 0;
    let failedFields = 0;
    let firstFailure: string | undefined;
    const started = performance.now();
    const end = started + seconds * 1000;
    const client = async () => {
      while (performance.now() < end) {
        const body = options.bodies[next++ % options.bodies.length]!;
        const sent = performance.now();
        const reply = await post(agent, options.url, body, options.headers);
        if (!record) continue;
        latencies.push(performance.now() - sent);
        const fieldFailures = reply.status === 200 && reply.body.includes('"ok":false') ? countFailedFields(reply.body) : 0;
        if (reply.status !== 200 || fieldFailures > 0) {
          failedRequests += 1;
          failedFields += reply.status === 200 ? fieldFailures : options.fieldsPerRequest;
          firstFailure ??= `${reply.status} ${reply.body.slice(0, 300)}`;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, client));
    return { latencies, failedRequests, failedFields, firstFailure, elapsed: (performance.now() - started) / 1000 };
  };
  await phase(options.warmupSeconds, false);
  const before = cpuSnapshot(options.servicePid);
  const from = microseconds();
  const measured = await phase(options.seconds, true);
  const to = microseconds();
  const cores = coresUsed(before, cpuSnapshot(options.servicePid));
  agent.destroy();
  const requests = measured.latencies.length;
  return {
    concurrency: options.concurrency,
    requests,
    seconds: measured.elapsed,
    requestsPerSecond: requests / measured.elapsed,
    fieldsPerSecond: (requests * options.fieldsPerRequest - measured.failedFields) / measured.elapsed,
    failedRequests: measured.failedRequests,
    failedFields: measured.failedFields,
    latencies: measured.latencies.sort((a, b) => a - b),
    ...(measured.firstFailure ? { firstFailure: measured.firstFailure } : {}),
    cores,
    window: { from, to },
  };
}

export function microseconds(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function countFailedFields(body: string): number {
  const { results } = JSON.parse(body) as { results: { ok: boolean }[] };
  return results.filter((r) => !r.ok).length;
}

/** Sequential requests on one keep-alive socket; answers latencies in ms, ascending. */
export async function sequentialLatencies(
  url: URL,
  headers: Record<string, string>,
  bodies: readonly Buffer[],
  warmup: number,
  samples: number,
  servicePid?: number,
) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let before = cpuSnapshot(servicePid);
  const latencies: number[] = [];
  let failures = 0;
  let from = 0;
  for (let i = 0; i < warmup + samples; i += 1) {
    if (i === warmup) {
      before = cpuSnapshot(servicePid);
      from = microseconds();
    }
    const sent = performance.now();
    const reply = await post(agent, url, bodies[i % bodies.length]!, headers);
    const elapsed = performance.now() - sent;
    if (reply.status !== 200 || reply.body.includes('"ok":false')) failures += 1;
    if (i >= warmup) latencies.push(elapsed);
  }
  const to = microseconds();
  const cores = coresUsed(before, cpuSnapshot(servicePid));
  agent.destroy();
  return { latencies: latencies.sort((a, b) => a - b), failures, window: { from, to }, cores };
}
