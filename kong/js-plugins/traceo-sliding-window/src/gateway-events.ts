import { createEvent, encodeEvent, EventTypes, PLATFORM_TENANT, TOPIC_NAMESPACE, TOPIC_NAMESPACE_RULE } from '@traceo/contracts';
import {
  BlockedEventReporter,
  RateLimitError,
  type BlockedEventCounters,
  type BlockedEventData,
  type BlockedEventReporterOptions,
  type BlockedRequest,
  type RateLimitDecision,
} from '@traceo/rate-limit';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';

/** Comma-separated `host:port` list of the Kafka brokers the plugin publishes request-blocked events to. */
export const KAFKA_BROKERS_ENV = 'TRACEO_KAFKA_BROKERS';
/** The platform's topic namespace (as the services' TRACEO_KAFKA_NAMESPACE): `staging.` and the like, or empty. */
export const KAFKA_NAMESPACE_ENV = 'TRACEO_KAFKA_NAMESPACE';
/** `off` turns the events off on purpose; anything else needs the brokers. */
export const GATEWAY_EVENTS_ENV = 'TRACEO_GATEWAY_EVENTS';

/** The events' CloudEvents `source`: the gateway, beside the services' `/traceo/<service>`. */
export const EVENT_SOURCE = '/traceo/kong';
const BROKER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export interface GatewayEventSettings {
  readonly brokers: readonly string[];
  readonly namespace: string;
}

/**
 * The event settings from the plugin server's environment (Kong passes the variables through nginx
 * `env` directives, kong/kong.conf). Undefined when TRACEO_GATEWAY_EVENTS is `off`; otherwise the
 * brokers are required, so a gateway never refuses requests without telling the risk service unless
 * its operator said so. Throws RATE_LIMIT.INVALID_CONFIG naming the variable.
 */
export function gatewayEventSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayEventSettings | undefined {
  if (env[GATEWAY_EVENTS_ENV] === 'off') return undefined;
  const brokers = (env[KAFKA_BROKERS_ENV] ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  if (brokers.length === 0) {
    throw invalid(
      KAFKA_BROKERS_ENV,
      `${KAFKA_BROKERS_ENV} must list the Kafka brokers (host:port, comma-separated) request-blocked events go to, or ${GATEWAY_EVENTS_ENV}=off must turn the events off`,
    );
  }
  const bad = brokers.find((broker) => !BROKER.test(broker));
  if (bad !== undefined) throw invalid(KAFKA_BROKERS_ENV, `${KAFKA_BROKERS_ENV}: "${bad}" is not host:port`);
  const namespace = env[KAFKA_NAMESPACE_ENV] ?? '';
  if (!TOPIC_NAMESPACE.test(namespace)) {
    throw invalid(KAFKA_NAMESPACE_ENV, `${KAFKA_NAMESPACE_ENV} must be empty or ${TOPIC_NAMESPACE_RULE}`);
  }
  return { brokers, namespace };
}

function invalid(variable: string, message: string): RateLimitError {
  return new RateLimitError('RATE_LIMIT.INVALID_CONFIG', message, [variable]);
}

/**
 * Publishes one `traceo.gateway.request-blocked.v1` CloudEvent (the contract the services' guard
 * publishes through its outbox) straight to Kafka: the gateway has no database, so there is no outbox;
 * an event Kafka does not take within the producer's retries is counted as failed and not retried
 * (the 429 itself is never delayed). The idempotent producer and Java-compatible partitioner are the
 * services' settings; the key is the tenant, as for every tenant-keyed topic.
 */
export class KafkaEventSink {
  private connected: Promise<void> | undefined;

  constructor(
    private readonly producer: Pick<Producer, 'connect' | 'send' | 'disconnect'>,
    private readonly namespace: string,
  ) {}

  static create(settings: GatewayEventSettings): KafkaEventSink {
    const kafka = new Kafka({
      clientId: `traceo-kong-${process.pid}`,
      brokers: [...settings.brokers],
      connectionTimeout: 1000,
      requestTimeout: 5000,
      retry: { initialRetryTime: 100, retries: 3 },
      // Failures reach the reporter's onError (one line per outage); kafkajs' own lines would repeat them.
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    return new KafkaEventSink(producer, settings.namespace);
  }

  async publish(data: BlockedEventData, request: BlockedRequest): Promise<void> {
    const event = createEvent({
      type: EventTypes.gatewayRequestBlocked,
      source: EVENT_SOURCE,
      tenantid: request.tenantId,
      data,
      ...(request.traceparent === undefined ? {} : { traceparent: request.traceparent }),
    });
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = undefined; // the next event tries again
      throw error;
    });
    await this.connected;
    await this.producer.send({
      topic: this.namespace + event.type,
      acks: -1,
      messages: [
        {
          key: event.tenantid,
          value: encodeEvent(event),
          headers: { 'content-type': 'application/cloudevents+json', ce_id: event.id },
        },
      ],
    });
  }

  async close(): Promise<void> {
    const connected = this.connected;
    this.connected = undefined;
    if (connected !== undefined) await connected.then(() => this.producer.disconnect()).catch(() => undefined);
  }
}

/** What the access phase hands over about a refused request. */
export interface RefusedCall {
  readonly method: string;
  /** The Kong route's name (or id); never the raw path. */
  readonly route: string;
  readonly traceparent?: string;
}

/**
 * The plugin server's request-blocked events: libs/rate-limit's BlockedEventReporter (one event per
 * identifier and rule per second, later refusals counted in `suppressed` and flushed each second, at
 * most 100 events a second per plugin server process) in front of a KafkaEventSink. One per process,
 * shared by every plugin instance. Tenant: the platform's; Kong open source knows API clients as
 * consumers, not their tenants.
 */
export class GatewayEvents {
  private readonly reporter: BlockedEventReporter;
  private failing = false;

  constructor(
    private readonly sink: Pick<KafkaEventSink, 'publish' | 'close'>,
    options: Pick<BlockedEventReporterOptions, 'clock' | 'debounceMs' | 'maxPerSecond' | 'maxInFlight'> = {},
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.reporter = new BlockedEventReporter({
      ...options,
      publish: async (data, request) => {
        await this.sink.publish(data, request);
        if (this.failing) this.warn('traceo-sliding-window: request-blocked events reach Kafka again');
        this.failing = false;
      },
      onError: (error) => {
        if (this.failing) return;
        this.failing = true;
        this.warn(`traceo-sliding-window: could not publish a request-blocked event: ${error instanceof Error ? error.message : 'error'}`);
      },
    });
    this.reporter.start();
  }

  report(decision: RateLimitDecision, call: RefusedCall): void {
    this.reporter.report(decision, {
      tenantId: PLATFORM_TENANT,
      method: /^[A-Z]{1,16}$/.test(call.method) ? call.method : 'OTHER',
      route: call.route, // the reporter cuts it to 256 and puts / for an empty one
      ...(call.traceparent === undefined ? {} : { traceparent: call.traceparent }),
    });
  }

  counters(): BlockedEventCounters {
    return this.reporter.counters();
  }

  /** Publishes what is pending, waits for it, and disconnects (tests; the plugin server never stops it). */
  async close(): Promise<void> {
    this.reporter.stop();
    await this.reporter.settle();
    await this.sink.close();
  }
}

let shared: { key: string; events: GatewayEvents | undefined } | undefined;

/** The process's GatewayEvents for the environment's settings (undefined when turned off); throws as gatewayEventSettingsFromEnv. */
export function gatewayEventsFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayEvents | undefined {
  const settings = gatewayEventSettingsFromEnv(env);
  const key = JSON.stringify(settings ?? null);
  if (shared?.key !== key) {
    const previous = shared?.events;
    shared = { key, events: settings === undefined ? undefined : new GatewayEvents(KafkaEventSink.create(settings)) };
    void previous?.close();
  }
  return shared.events;
}

/** Closes the process's GatewayEvents (tests). */
export async function closeGatewayEvents(): Promise<void> {
  const events = shared?.events;
  shared = undefined;
  await events?.close();
}
