import { headerValue, type RateLimitRequest } from './rate-limit.request';
import { RecentCache } from './recent-cache';

// Heuristics, not proof: they only tighten a rate limit, they never refuse a request on their own.

const AUTOMATION_AGENTS =
  /\b(?:curl|wget|python-requests|python-urllib|aiohttp|httpx|go-http-client|okhttp|java\/|apache-httpclient|libwww-perl|scrapy|node-fetch|axios|undici|headlesschrome|phantomjs|selenium|puppeteer|playwright)\b/i;
const SELF_DECLARED_BOTS = /bot\b|crawl|spider|slurp|scrape|fetcher/i;

/** Reasons the request's headers look automated; empty when they look like a browser or a typical client. */
export function userAgentSignals(request: RateLimitRequest): string[] {
  const agent = headerValue(request, 'user-agent')?.trim() ?? '';
  const verdict = agentVerdict(agent);
  return [...(headerValue(request, 'accept-language') === undefined ? verdict.withoutLanguage : verdict.withLanguage)];
}

interface AgentVerdict {
  readonly withLanguage: readonly string[];
  readonly withoutLanguage: readonly string[];
}

function agentVerdict(agent: string): AgentVerdict {
  if (agent === '') return { withLanguage: ['no-user-agent'], withoutLanguage: ['no-user-agent'] };
  const reasons: string[] = [];
  if (AUTOMATION_AGENTS.test(agent)) reasons.push('automation-user-agent');
  if (SELF_DECLARED_BOTS.test(agent)) reasons.push('self-declared-bot');
  // Browsers always send Accept-Language; headless stacks claiming to be one often do not.
  const withoutLanguage = agent.startsWith('Mozilla/') ? [...reasons, 'browser-without-accept-language'] : reasons;
  return { withLanguage: Object.freeze(reasons), withoutLanguage: Object.freeze(withoutLanguage) };
}

/**
 * `userAgentSignals` for a limiter: the same few User-Agent strings come back, so their verdicts are
 * kept (bounded) and shared, frozen, between decisions.
 */
export class UserAgentSignals {
  private readonly verdicts: RecentCache<AgentVerdict>;

  constructor(maxAgents = 2_048) {
    this.verdicts = new RecentCache(maxAgents);
  }

  of(request: RateLimitRequest): readonly string[] {
    const raw = request.headers['user-agent'];
    const agent = raw === undefined ? '' : typeof raw === 'string' ? raw : raw.join(', ');
    let verdict = this.verdicts.get(agent);
    if (verdict === undefined) {
      verdict = agentVerdict(agent.trim());
      this.verdicts.set(agent, verdict);
    }
    return request.headers['accept-language'] === undefined ? verdict.withoutLanguage : verdict.withLanguage;
  }
}

export interface CadenceOptions {
  /** Identifiers tracked at once (the least recently seen are forgotten first; see RecentCache). */
  readonly maxKeys?: number;
  /** Inter-arrival samples before a verdict. */
  readonly minSamples?: number;
  /** Only gaps shorter than this count as machine cadence (slow pollers are left alone). */
  readonly maxMeanGapMs?: number;
  /** Coefficient of variation of the gaps below which the cadence is called metronomic. */
  readonly maxVariation?: number;
}

interface Cadence {
  last: number;
  samples: number;
  mean: number;
  variance: number;
}

/**
 * Behaviour: people and ordinary clients send requests with irregular gaps; scripts in a loop send
 * them like a metronome. Keeps an exponentially weighted mean and variance of the gaps per identifier
 * and reports `regular-cadence` when many fast requests arrive with almost no jitter. In-process
 * only: each gateway instance judges the traffic it sees.
 */
export class CadenceTracker {
  private readonly entries: RecentCache<Cadence>;
  private readonly minSamples: number;
  private readonly maxMeanGapMs: number;
  private readonly maxVariation: number;

  constructor(options: CadenceOptions = {}) {
    this.entries = new RecentCache(options.maxKeys ?? 50_000);
    this.minSamples = options.minSamples ?? 10;
    this.maxMeanGapMs = options.maxMeanGapMs ?? 5_000;
    this.maxVariation = options.maxVariation ?? 0.1;
  }

  /** Records a request at `now` and tells whether this identifier's cadence is machine-like. */
  observe(identifier: string, now: number): boolean {
    const found = this.entries.get(identifier);
    if (found === undefined) {
      this.entries.set(identifier, { last: now, samples: 0, mean: 0, variance: 0 });
      return false;
    }
    const gap = Math.max(0, now - found.last);
    found.last = now;
    if (found.samples === 0) {
      found.mean = gap;
    } else {
      const alpha = 0.2;
      const delta = gap - found.mean;
      found.mean += alpha * delta;
      found.variance = (1 - alpha) * (found.variance + alpha * delta * delta);
    }
    found.samples += 1;
    return (
      found.samples >= this.minSamples &&
      found.mean > 0 &&
      found.mean <= this.maxMeanGapMs &&
      Math.sqrt(found.variance) <= this.maxVariation * found.mean
    );
  }
}
