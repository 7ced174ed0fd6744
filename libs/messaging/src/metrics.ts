import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

/** Prometheus metrics for the outbox relay and the inbox consumer, registered once per registry. */
export class MessagingMetrics {
  readonly relayed: Counter<'topic'>;
  readonly outboxBacklog: Gauge;
  readonly consumed: Counter<'topic' | 'outcome'>;
  readonly deadLettered: Counter<'topic' | 'code'>;
  readonly endToEndSeconds: Histogram<'topic'>;

  private static readonly perRegistry = new WeakMap<Registry, MessagingMetrics>();

  static for(registry: Registry = defaultRegistry): MessagingMetrics {
    let metrics = MessagingMetrics.perRegistry.get(registry);
    if (!metrics) {
      metrics = new MessagingMetrics(registry);
      MessagingMetrics.perRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.relayed = new Counter({
      name: 'traceo_outbox_relayed_total',
      help: 'Events published from the outbox to Kafka',
      labelNames: ['topic'],
      registers,
    });
    this.outboxBacklog = new Gauge({ name: 'traceo_outbox_backlog', help: 'Events in the outbox at the last relay poll', registers });
    this.consumed = new Counter({
      name: 'traceo_inbox_events_total',
      help: 'Events seen by the inbox consumer, by outcome (processed, duplicate, dead-lettered)',
      labelNames: ['topic', 'outcome'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'traceo_dead_lettered_total',
      help: 'Messages sent to the dead-letter topic, by error code',
      labelNames: ['topic', 'code'],
      registers,
    });
    this.endToEndSeconds = new Histogram({
      name: 'traceo_event_end_to_end_seconds',
      help: 'Time from event creation to the consumer committing its effect',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }
}
