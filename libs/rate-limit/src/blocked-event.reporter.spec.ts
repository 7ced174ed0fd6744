import { gatewayRequestBlockedV1Schema, type GatewayRequestBlockedV1 } from '@traceo/contracts';
import { BlockedEventReporter, type BlockedEventReporterOptions } from './blocked-event.reporter';
import { MemoryStore } from './memory.store';
import { RateLimiter, type RateLimitDecision } from './rate-limiter';

const T0 = 1_800_000_000_000;
const request = { tenantId: 'acme', method: 'POST', route: '/v1/things/:id' };

/** Refused decisions for `clients` different identifiers (limit 1 per minute, two calls each). */
async function refusals(clients: number): Promise<RateLimitDecision[]> {
  const limiter = new RateLimiter({
    config: { rules: [{ name: 'api', limit: [1], window_size: [60], failure_mode: 'open' }] },
    store: new MemoryStore({ clock: () => T0 }),
    identifierKey: 'reporter-test-key-0123456789',
    clock: () => T0,
    cadence: false,
  });
  const refused: RateLimitDecision[] = [];
  for (let i = 0; i < clients; i += 1) {
    const facts = { headers: {}, path: '/v1/things/1', consumer: { id: `client-${i}` } };
    await limiter.check('api', facts);
    refused.push(await limiter.check('api', facts));
  }
  return refused;
}

function reporter(options: Partial<BlockedEventReporterOptions> = {}) {
  const clock = { now: T0 };
  const events: GatewayRequestBlockedV1[] = [];
  const instance = new BlockedEventReporter({
    clock: () => clock.now,
    publish: (data) => {
      events.push(gatewayRequestBlockedV1Schema.parse(data));
      return Promise.resolve();
    },
    ...options,
  });
  return { clock, events, instance };
}

describe('BlockedEventReporter', () => {
  it('publishes the first refusal of an identifier and rule, valid against the registered schema', async () => {
    const [decision] = await refusals(1);
    const { events, instance } = reporter();
    instance.report(decision!, request);
    await instance.settle();
    expect(events).toEqual([
      expect.objectContaining({ rule: 'api', reason: 'limit-exceeded', request: { method: 'POST', route: '/v1/things/:id' } }),
    ]);
    expect(instance.counters()).toEqual({ published: 1, suppressed: 0, deferred: 0, dropped: 0, failed: 0 });
  });

  it('folds further refusals within a second into the next event as `suppressed`', async () => {
    const [decision] = await refusals(1);
    const { clock, events, instance } = reporter();
    for (let i = 0; i < 50; i += 1) instance.report(decision!, request);
    clock.now += 999;
    instance.report(decision!, request);
    clock.now += 1;
    instance.report(decision!, request);
    await instance.settle();
    expect(events.map((event) => event.suppressed)).toEqual([undefined, 50]);
    expect(instance.counters()).toMatchObject({ published: 2, suppressed: 50 });
  });

  it('publishes the refusals debounced after the last event once the interval has passed (flush)', async () => {
    const [decision] = await refusals(1);
    const { clock, events, instance } = reporter();
    for (let i = 0; i < 7; i += 1) instance.report(decision!, { ...request, route: `/v1/things/${i}` });
    clock.now += 500;
    instance.flush(); // within the interval: nothing yet
    await instance.settle();
    expect(events).toHaveLength(1);
    clock.now += 500;
    instance.flush();
    instance.flush(); // nothing left to publish
    await instance.settle();
    // The first refusal, then the latest with the five between them: all seven accounted for.
    expect(events.map((event) => [event.request?.route, event.suppressed])).toEqual([
      ['/v1/things/0', undefined],
      ['/v1/things/6', 5],
    ]);
    expect(instance.counters()).toMatchObject({ published: 2, suppressed: 6, dropped: 0 });
    // The flushed event starts a new interval: a refusal right after it is debounced again.
    instance.report(decision!, request);
    await instance.settle();
    expect(events).toHaveLength(2);
  });

  it('publishes every pending count at stop, whatever the interval, and only once', async () => {
    const [decision] = await refusals(1);
    const { events, instance } = reporter();
    instance.report(decision!, request);
    instance.report(decision!, request);
    instance.start();
    instance.stop();
    instance.stop();
    await instance.settle();
    expect(events.map((event) => event.suppressed)).toEqual([undefined, undefined]);
    expect(instance.counters()).toMatchObject({ published: 2, suppressed: 1 });
  });

  it('caps the events per second of the process, and publishes the rest at the next flushes, oldest first', async () => {
    const decisions = await refusals(30);
    const { clock, events, instance } = reporter({ maxPerSecond: 20 });
    for (const decision of decisions) instance.report(decision, request);
    await instance.settle();
    expect(events).toHaveLength(20);
    expect(instance.counters()).toMatchObject({ published: 20, deferred: 10, dropped: 0 });
    instance.flush(); // the same second: the cap still holds
    await instance.settle();
    expect(events).toHaveLength(20);
    clock.now += 1000;
    instance.flush();
    await instance.settle();
    expect(events.map((event) => event.identifier.hash)).toEqual(decisions.map((decision) => decision.identifier.hash));
    expect(events.slice(20).every((event) => event.suppressed === undefined)).toBe(true);
    expect(instance.counters()).toEqual({ published: 30, suppressed: 0, deferred: 10, dropped: 0, failed: 0 });
  });

  it('folds further refusals of a waiting identifier into its deferred event', async () => {
    const [first, second] = await refusals(2);
    const { clock, events, instance } = reporter({ maxPerSecond: 1 });
    instance.report(first!, request);
    for (let i = 0; i < 3; i += 1) instance.report(second!, request);
    clock.now += 1000;
    instance.flush();
    await instance.settle();
    expect(events.map((event) => [event.identifier.hash, event.suppressed])).toEqual([
      [first!.identifier.hash, undefined],
      [second!.identifier.hash, 2],
    ]);
  });

  it('defers rather than queues when the writes pile up; a flush publishes as many as may be in flight', async () => {
    const decisions = await refusals(5);
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const { clock, instance } = reporter({ maxInFlight: 2, publish: () => blocked });
    for (const decision of decisions) instance.report(decision, request);
    expect(instance.counters()).toMatchObject({ deferred: 3, dropped: 0 });
    release();
    await instance.settle();
    clock.now += 1000;
    instance.flush(); // two more, as many as may be in flight
    await instance.settle();
    expect(instance.counters()).toMatchObject({ published: 4 });
    instance.flush();
    await instance.settle();
    expect(instance.counters()).toMatchObject({ published: 5, dropped: 0 });
  });

  it('once started, flushes again as each write completes, so waiting refusals need not wait for the next interval', async () => {
    const decisions = await refusals(6);
    const { clock, events, instance } = reporter({ maxInFlight: 2 });
    for (const decision of decisions) instance.report(decision, request);
    expect(instance.counters()).toMatchObject({ deferred: 4 });
    clock.now += 1000;
    instance.start();
    instance.flush();
    for (let i = 0; i < 5 && events.length < 6; i += 1) await instance.settle();
    expect(events).toHaveLength(6);
    instance.stop();
  });

  it('counts as dropped what waits when more identifiers come than it tracks, and what the caps hold back at stop', async () => {
    const decisions = await refusals(12);
    const { instance } = reporter({ maxPerSecond: 2, maxTracked: 6 });
    for (const decision of decisions.slice(0, 6)) instance.report(decision, request); // 2 published, 4 waiting
    await instance.settle();
    expect(instance.counters()).toMatchObject({ published: 2, deferred: 4, dropped: 0 });
    instance.report(decisions[6]!, request); // a 7th identifier: the table starts over, the 4 waiting are lost
    expect(instance.counters()).toMatchObject({ deferred: 5, dropped: 4 });
    instance.stop(); // still the same second: the cap holds the 7th back, and it is lost too
    await instance.settle();
    expect(instance.counters()).toEqual({ published: 2, suppressed: 0, deferred: 5, dropped: 5, failed: 0 });
  });

  it('counts a failed write and hands the error over, without throwing', async () => {
    const [decision] = await refusals(1);
    const errors: unknown[] = [];
    const { instance } = reporter({ publish: () => Promise.reject(new Error('database down')), onError: (error) => errors.push(error) });
    expect(() => instance.report(decision!, request)).not.toThrow();
    await instance.settle();
    expect(instance.counters()).toMatchObject({ published: 0, failed: 1 });
    expect(errors).toEqual([new Error('database down')]);
  });
});
