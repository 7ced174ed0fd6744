import { decodeEvent } from '@traceo/contracts';
import { MemoryStore, RateLimiter, type RateLimitDecision } from '@traceo/rate-limit';
import type { Producer, ProducerRecord } from 'kafkajs';
import { GatewayEvents, gatewayEventSettingsFromEnv, KafkaEventSink } from './gateway-events';

const T0 = 1_800_000_000_000;

async function refusal(consumer = 'client-1'): Promise<RateLimitDecision> {
  const limiter = new RateLimiter({
    config: {
      rules: [
        {
          name: 'gateway',
          limit: [1],
          window_size: [60],
          failure_mode: 'open',
          tiers: { free: 1, standard: 1, premium: 1, enterprise: 1 },
        },
      ],
    },
    store: new MemoryStore({ clock: () => T0 }),
    identifierKey: 'gateway-events-test-key-0123456789',
    clock: () => T0,
    cadence: false,
  });
  const facts = { headers: {}, path: '/v1/encryption/keyrings', consumer: { id: consumer } };
  await limiter.check('gateway', facts);
  const refused = await limiter.check('gateway', facts);
  expect(refused.allowed).toBe(false);
  return refused;
}

/** A producer that records what it is asked to send; `fail` makes connect or send reject. */
function recordingProducer(fail?: 'connect' | 'send') {
  const sent: ProducerRecord[] = [];
  let connects = 0;
  const producer: Pick<Producer, 'connect' | 'send' | 'disconnect'> = {
    connect: () => {
      connects += 1;
      return fail === 'connect' ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) : Promise.resolve();
    },
    send: (record) => {
      if (fail === 'send') return Promise.reject(new Error('This server does not host this topic-partition'));
      sent.push(record);
      return Promise.resolve([]);
    },
    disconnect: () => Promise.resolve(),
  };
  return { producer, sent, connects: () => connects };
}

describe('gatewayEventSettingsFromEnv', () => {
  it('reads the brokers and the namespace', () => {
    expect(gatewayEventSettingsFromEnv({ TRACEO_KAFKA_BROKERS: 'kafka-0:9092, [::1]:9093', TRACEO_KAFKA_NAMESPACE: 'staging.' })).toEqual({
      brokers: ['kafka-0:9092', '[::1]:9093'],
      namespace: 'staging.',
    });
    expect(gatewayEventSettingsFromEnv({ TRACEO_KAFKA_BROKERS: 'kafka:9092' })).toEqual({ brokers: ['kafka:9092'], namespace: '' });
  });

  it('is off only when TRACEO_GATEWAY_EVENTS says so', () => {
    expect(gatewayEventSettingsFromEnv({ TRACEO_GATEWAY_EVENTS: 'off', TRACEO_KAFKA_BROKERS: 'kafka:9092' })).toBeUndefined();
  });

  it.each([
    [{}, 'TRACEO_KAFKA_BROKERS must list the Kafka brokers'],
    [{ TRACEO_KAFKA_BROKERS: ' , ' }, 'TRACEO_KAFKA_BROKERS must list the Kafka brokers'],
    [{ TRACEO_GATEWAY_EVENTS: 'no' }, 'TRACEO_KAFKA_BROKERS must list the Kafka brokers'],
    [{ TRACEO_KAFKA_BROKERS: 'kafka' }, 'TRACEO_KAFKA_BROKERS: "kafka" is not host:port'],
    [{ TRACEO_KAFKA_BROKERS: 'kafka:9092,http://kafka:9092' }, 'TRACEO_KAFKA_BROKERS: "http://kafka:9092" is not host:port'],
    [{ TRACEO_KAFKA_BROKERS: 'kafka:9092', TRACEO_KAFKA_NAMESPACE: 'Staging.' }, 'TRACEO_KAFKA_NAMESPACE must be'],
    [{ TRACEO_KAFKA_BROKERS: 'kafka:9092', TRACEO_KAFKA_NAMESPACE: 'staging' }, 'TRACEO_KAFKA_NAMESPACE must be'],
  ])('refuses %j with RATE_LIMIT.INVALID_CONFIG naming the variable', (env, message) => {
    expect(() => gatewayEventSettingsFromEnv(env)).toThrow(
      expect.objectContaining({ code: 'RATE_LIMIT.INVALID_CONFIG', message: expect.stringContaining(message) }),
    );
  });
});

describe('KafkaEventSink', () => {
  it('sends one traceo.gateway.request-blocked.v1 CloudEvent to the namespaced topic, keyed by tenant, acks from all replicas', async () => {
    const { producer, sent, connects } = recordingProducer();
    const sink = new KafkaEventSink(producer, 'staging.');
    const decision = await refusal();
    const data = {
      occurredAt: new Date(T0).toISOString(),
      rule: decision.rule,
      policy: 'gateway',
      algorithm: 'sliding-window' as const,
      identifier: { ...decision.identifier },
      limit: 1,
      window: 60,
      tier: 'standard' as const,
      reason: 'limit-exceeded' as const,
      retryAfter: 60,
      botLike: false,
      degraded: false,
      request: { method: 'POST', route: 'encryption-service' },
    };
    await sink.publish(data, { tenantId: 'platform', method: 'POST', route: 'encryption-service' });
    await sink.publish({ ...data, suppressed: 3 }, { tenantId: 'platform', method: 'POST', route: 'encryption-service' });

    expect(connects()).toBe(1);
    expect(sent).toHaveLength(2);
    const [record] = sent;
    expect(record).toMatchObject({ topic: 'staging.traceo.gateway.request-blocked.v1', acks: -1 });
    const message = record!.messages[0]!;
    expect(message.key).toBe('platform');
    const event = decodeEvent(message.value, 'traceo.gateway.request-blocked.v1');
    expect(message.headers).toEqual({ 'content-type': 'application/cloudevents+json', ce_id: event.id });
    expect(event).toMatchObject({ source: '/traceo/kong', tenantid: 'platform', data });
    expect(decodeEvent(sent[1]!.messages[0]!.value as Buffer).data).toMatchObject({ suppressed: 3 });
  });

  it('refuses data the contract would refuse, before anything reaches Kafka', async () => {
    const { producer, sent } = recordingProducer();
    const sink = new KafkaEventSink(producer, '');
    await expect(sink.publish({ rule: 'gateway' } as never, { tenantId: 'platform', method: 'GET', route: 'r' })).rejects.toMatchObject({
      code: 'EVENT.SCHEMA_VIOLATION',
    });
    expect(sent).toHaveLength(0);
  });

  it('connects again after a failed connection', async () => {
    const failing = recordingProducer('connect');
    const sink = new KafkaEventSink(failing.producer, '');
    const decision = await refusal();
    const events = new GatewayEvents(sink, { clock: () => T0 }, () => undefined);
    events.report(decision, { method: 'GET', route: 'r' });
    events.report(await refusal('client-2'), { method: 'GET', route: 'r' });
    await events.close();
    expect(failing.connects()).toBe(2);
  });
});

describe('GatewayEvents', () => {
  it('debounces per identifier and rule, reports the platform tenant, the method and the route, and flushes the count on close', async () => {
    const { producer, sent } = recordingProducer();
    let now = T0;
    const events = new GatewayEvents(new KafkaEventSink(producer, ''), { clock: () => now }, () => undefined);
    const decision = await refusal();
    events.report(decision, { method: 'POST', route: 'encryption-service' });
    now += 100;
    events.report(decision, { method: 'POST', route: 'encryption-service' });
    events.report(decision, { method: 'POST', route: 'encryption-service' });
    await events.close();

    const published = sent.map((record) => decodeEvent(record.messages[0]!.value as Buffer));
    expect(published).toHaveLength(2);
    expect(published[0]).toMatchObject({
      tenantid: 'platform',
      data: {
        rule: 'gateway',
        identifier: { type: 'consumer', hash: decision.identifier.hash },
        request: { method: 'POST', route: 'encryption-service' },
      },
    });
    expect(published[0]!.data).not.toHaveProperty('suppressed');
    expect(published[1]!.data).toMatchObject({ suppressed: 1 });
    expect(events.counters()).toEqual({ published: 2, suppressed: 2, deferred: 0, dropped: 0, failed: 0 });
  });

  it('maps a method outside the contract to OTHER and an empty route to /', async () => {
    const { producer, sent } = recordingProducer();
    const events = new GatewayEvents(new KafkaEventSink(producer, ''), { clock: () => T0 }, () => undefined);
    events.report(await refusal(), { method: 'm-search', route: '' });
    await events.close();
    expect(decodeEvent(sent[0]!.messages[0]!.value as Buffer).data).toMatchObject({ request: { method: 'OTHER', route: '/' } });
  });

  it('counts failures and writes one line per outage, and one when events flow again', async () => {
    const lines: string[] = [];
    let fail = true;
    const producer: Pick<Producer, 'connect' | 'send' | 'disconnect'> = {
      connect: () => Promise.resolve(),
      send: () => (fail ? Promise.reject(new Error('Connection error: connect ECONNREFUSED')) : Promise.resolve([])),
      disconnect: () => Promise.resolve(),
    };
    const events = new GatewayEvents(new KafkaEventSink(producer, ''), { clock: () => T0 }, (line) => lines.push(line));
    events.report(await refusal('a'), { method: 'GET', route: 'r' });
    events.report(await refusal('b'), { method: 'GET', route: 'r' });
    await new Promise((resolve) => setImmediate(resolve));
    fail = false;
    events.report(await refusal('c'), { method: 'GET', route: 'r' });
    await events.close();
    expect(events.counters()).toMatchObject({ published: 1, failed: 2 });
    expect(lines).toEqual([
      'traceo-sliding-window: could not publish a request-blocked event: Connection error: connect ECONNREFUSED',
      'traceo-sliding-window: request-blocked events reach Kafka again',
    ]);
  });
});
