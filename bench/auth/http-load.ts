// N concurrent HTTP/1.1 keep-alive clients (node:http, one socket each) posting token requests for a
// fixed time; requests per second and latency percentiles of the successful answers.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface LoadResult {
  readonly perSecond: number;
  readonly ok: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The first failure's status and body, to show why. */
  readonly firstFailure?: string;
}

export class TokenClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(
    url: string,
    private readonly basic: string,
    concurrency: number,
  ) {
    this.url = new URL(url);
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }

  post(form: Record<string, string>): Promise<TokenAnswer> {
    const body = new URLSearchParams(form).toString();
    return new Promise((resolve, reject) => {
      const call = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            authorization: `Basic ${this.basic}`,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown>;
            try {
              parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              parsed = { text: text.slice(0, 200) };
            }
            resolve({ status: response.statusCode ?? 0, body: parsed });
          });
          response.on('error', reject);
        },
      );
      call.on('error', reject);
      call.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function basicCredentials(clientId: string, secret: string): string {
  return Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs `concurrency` workers for `seconds`; worker `w` calls `step(w)` in a loop. A failed step
 * (status not 200) is counted; `step` decides what the worker does next (a refresh chain whose token
 * was refused stops).
 */
export async function runLoad(
  seconds: number,
  concurrency: number,
  step: (worker: number) => Promise<TokenAnswer | 'stop'>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const worker = async (w: number) => {
    while (performance.now() < deadline) {
      const at = performance.now();
      let answer: TokenAnswer | 'stop';
      try {
        answer = await step(w);
      } catch (error) {
        answer = { status: 0, body: { error: String(error) } };
      }
      if (answer === 'stop') return;
      if (answer.status === 200) latencies.push(performance.now() - at);
      else {
        failed += 1;
        firstFailure ??= `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / elapsed,
    ok: latencies.length,
    failed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...(firstFailure ? { firstFailure } : {}),
  };
}

/** POST JSON with a bearer token; the answer, which must be 201 Created. */
export async function postJson(url: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.status !== 201) throw new Error(`${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}
