import { createEvent, decodeEvent, encodeEvent, EventRejectedError, EventTypes, newEventId } from './index';

const auditData = {
  occurredAt: '2026-11-24T10:00:00.000Z',
  actor: { type: 'service' as const, id: 'auth-service' },
  action: 'service.started',
  resource: { type: 'service', id: 'auth-service' },
  status: 'success' as const,
};

function rejection(fn: () => unknown): EventRejectedError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EventRejectedError) return error;
    throw error;
  }
  throw new Error('expected the event to be rejected');
}

describe('event codec', () => {
  it('round-trips a valid audit record through Kafka bytes', () => {
    const event = createEvent({ type: EventTypes.auditRecord, source: '/traceo/auth-service', tenantid: 'acme', data: auditData });
    const decoded = decodeEvent(encodeEvent(event), 'traceo.audit.record.v1');
    expect(decoded).toEqual(event);
    expect(decoded.specversion).toBe('1.0');
  });

  it('refuses to build an event whose data breaks its schema', () => {
    const error = rejection(() =>
      createEvent({ type: EventTypes.auditRecord, source: '/x', tenantid: 'acme', data: { ...auditData, status: 'maybe' as never } }),
    );
    expect(error.code).toBe('EVENT.SCHEMA_VIOLATION');
  });

  it.each([
    ['bad JSON', Buffer.from('{"specversion":'), 'EVENT.MALFORMED_JSON'],
    ['an empty message', null, 'EVENT.MALFORMED_JSON'],
    ['a JSON array', Buffer.from('[]'), 'EVENT.INVALID_ENVELOPE'],
    [
      'an unknown type',
      Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: '1',
          source: '/x',
          type: 'traceo.nope.thing.v1',
          time: '2026-11-24T10:00:00Z',
          tenantid: 'acme',
          datacontenttype: 'application/json',
          data: {},
        }),
      ),
      'EVENT.UNKNOWN_TYPE',
    ],
    [
      'an unknown envelope field',
      Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: '1',
          source: '/x',
          type: 'traceo.platform.probe.v1',
          time: '2026-11-24T10:00:00Z',
          tenantid: 'acme',
          datacontenttype: 'application/json',
          data: {},
          extra: 1,
        }),
      ),
      'EVENT.INVALID_ENVELOPE',
    ],
    [
      'a tenant id with capitals',
      Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: '1',
          source: '/x',
          type: 'traceo.platform.probe.v1',
          time: '2026-11-24T10:00:00Z',
          tenantid: 'ACME',
          datacontenttype: 'application/json',
          data: {},
        }),
      ),
      'EVENT.INVALID_ENVELOPE',
    ],
  ])('rejects %s with a stable code', (_name, value, code) => {
    expect(rejection(() => decodeEvent(value)).code).toBe(code);
  });

  it('rejects an event that arrived on another topic', () => {
    const event = createEvent({
      type: EventTypes.probe,
      source: '/bench',
      tenantid: 'acme',
      data: { sequence: 1, producedAt: new Date().toISOString(), run: 'r' },
    });
    expect(rejection(() => decodeEvent(encodeEvent(event), 'traceo.audit.record.v1')).code).toBe('EVENT.TOPIC_MISMATCH');
  });

  it('never echoes rejected values back in the error', () => {
    const secret = 'Bearer eyJhbGciOiJIUzI1NiJ9.secret';
    const value = Buffer.from(
      JSON.stringify({
        specversion: '1.0',
        id: '1',
        source: '/x',
        type: 'traceo.audit.record.v1',
        time: '2026-11-24T10:00:00Z',
        tenantid: 'acme',
        datacontenttype: 'application/json',
        data: { ...auditData, actor: { type: secret, id: 'x' } },
      }),
    );
    const error = rejection(() => decodeEvent(value));
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(secret);
  });

  it('issues time-ordered UUIDv7 ids', () => {
    const first = newEventId(1_700_000_000_000);
    const second = newEventId(1_700_000_000_001);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first < second).toBe(true);
  });
});
