import type { RateLimiter } from '@traceo/rate-limit';
import { Counter, type Registry } from 'prom-client';
import type { BlockedEventReporter } from '@traceo/rate-limit';

/**
 * Exports the limiter's and the event reporter's monotonic counters as Prometheus counters, read at
 * scrape time (nothing is counted twice on the request path):
 *
 * - `traceo_rate_limit_decisions_total{rule,outcome="allowed|denied"}`
 * - `traceo_rate_limit_store_unavailable_total{rule,failure_mode="open|closed"}`: decisions made without
 *   Redis — decided by the in-memory fallback (open) or refused with 503 (closed); also counted above
 * - `traceo_rate_limit_store_errors_total`: failed calls to Redis
 * - `traceo_rate_limit_blocked_events_total{outcome="published|suppressed|deferred|dropped|failed"}`
 */
export function registerRateLimitMetrics(registry: Registry, limiter: RateLimiter, reporter: BlockedEventReporter): void {
  const seen = new Map<string, number>();
  /** Increments `counter` by what `value` grew since the last scrape. */
  const growth = (key: string, value: number) => {
    const grown = Math.max(0, value - (seen.get(key) ?? 0));
    seen.set(key, value);
    return grown;
  };
  const advance = (counter: Counter<string>, name: string, labels: Record<string, string>, value: number) =>
    counter.inc(labels, growth(`${name}${JSON.stringify(labels)}`, value));
  const rules = () => Object.entries(limiter.counters().rules);
  const decisions = new Counter({
    name: 'traceo_rate_limit_decisions_total',
    help: 'Rate-limit decisions of the RateLimitGuard by rule and outcome',
    labelNames: ['rule', 'outcome'],
    registers: [registry],
    collect() {
      for (const [rule, counts] of rules()) {
        advance(decisions, 'decisions', { rule, outcome: 'allowed' }, counts.allowed);
        advance(decisions, 'decisions', { rule, outcome: 'denied' }, counts.denied);
      }
    },
  });
  const unavailable = new Counter({
    name: 'traceo_rate_limit_store_unavailable_total',
    help: 'Rate-limit decisions made without Redis: by the local fallback (open) or refused (closed)',
    labelNames: ['rule', 'failure_mode'],
    registers: [registry],
    collect() {
      for (const [rule, counts] of rules()) {
        advance(unavailable, 'unavailable', { rule, failure_mode: 'open' }, counts.failedOpen);
        advance(unavailable, 'unavailable', { rule, failure_mode: 'closed' }, counts.failedClosed);
      }
    },
  });
  const storeErrors = new Counter({
    name: 'traceo_rate_limit_store_errors_total',
    help: 'Failed calls from the rate limiter to Redis',
    registers: [registry],
    collect() {
      storeErrors.inc(growth('storeErrors', limiter.counters().storeErrors));
    },
  });
  const events = new Counter({
    name: 'traceo_rate_limit_blocked_events_total',
    help: 'traceo.gateway.request-blocked.v1 events: published, suppressed (debounced), deferred (over the rate cap, published later), dropped (lost), failed',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const counts = reporter.counters();
      for (const outcome of ['published', 'suppressed', 'deferred', 'dropped', 'failed'] as const)
        advance(events, 'events', { outcome }, counts[outcome]);
    },
  });
}
