import { gatewayRequestV1Schema } from '@traceo/contracts';
import { gatewayRequestOf, kongLogEntrySchema } from './kong-log-entry';

/** One entry as Kong 3.9's `kong.log.serialize()` writes it for http-log (shape of Kong's documented sample). */
function kongEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    response: {
      size: 9982,
      headers: {
        'content-type': 'application/json',
        'x-kong-upstream-latency': '171',
        'x-kong-proxy-latency': '1',
        'set-cookie': 'sid=secret',
      },
      status: 200,
    },
    route: {
      id: '78f79740-c410-4fd9-a998-d0a60a99dc9b',
      name: 'encryption-api',
      paths: ['/v1/encryption'],
      protocols: ['https'],
      strip_path: false,
      created_at: 1726782477,
      updated_at: 1726782477,
      service: { id: 'fd2ba6c1-1b83-4e79-8e6a-8c7e4f1f2f2e' },
      tags: ['traceo'],
      ws_id: 'f381e3ff-7e6a-4ac1-9a8f-1a2bf2b4fb4f',
    },
    service: {
      id: 'fd2ba6c1-1b83-4e79-8e6a-8c7e4f1f2f2e',
      name: 'encryption-service',
      host: 'encryption-service',
      port: 8080,
      protocol: 'http',
    },
    request: {
      querystring: { email: 'alice@example.com' },
      size: 138,
      uri: '/v1/encryption/tenants/acme/keyrings?email=alice@example.com',
      url: 'https://gateway.example:8443/v1/encryption/tenants/acme/keyrings?email=alice@example.com',
      headers: {
        host: 'gateway.example',
        authorization: 'REDACTED',
        cookie: 'session=secret-cookie',
        'user-agent': 'acme-sync/2.1',
        'x-request-id': '7d0c3b1e-5a4f-4c7a-9d8e-0f1a2b3c4d5e',
      },
      method: 'POST',
    },
    tries: [{ balancer_latency: 0, port: 8080, balancer_start: 1764000000123, ip: '10.0.3.17' }],
    client_ip: '203.0.113.7',
    workspace: 'f381e3ff-7e6a-4ac1-9a8f-1a2bf2b4fb4f',
    upstream_uri: '/v1/encryption/tenants/acme/keyrings?email=alice@example.com',
    authenticated_entity: { id: 'c0ffee00-0000-4000-8000-0000000000c1' },
    consumer: { id: 'c0ffee00-0000-4000-8000-00000000a11c', username: 'acme-sync', custom_id: null, tags: ['tier:standard'] },
    latencies: { proxy: 171, kong: 2, request: 173.4 },
    started_at: 1764000000120,
    source: 'upstream',
    ...overrides,
  };
}

describe('a Kong log entry as a traceo.gateway.request.v1 event', () => {
  it('keeps method, route, service, status, client, consumer, user agent, request id, latencies and sizes', () => {
    const data = gatewayRequestOf(kongLogEntrySchema.parse(kongEntry()));
    expect(gatewayRequestV1Schema.parse(data)).toEqual({
      occurredAt: '2025-11-24T16:00:00.120Z',
      requestId: '7d0c3b1e-5a4f-4c7a-9d8e-0f1a2b3c4d5e',
      method: 'POST',
      route: 'encryption-api',
      service: 'encryption-service',
      status: 200,
      clientIp: '203.0.113.7',
      consumer: { id: 'c0ffee00-0000-4000-8000-00000000a11c', username: 'acme-sync' },
      userAgent: 'acme-sync/2.1',
      latencies: { totalMs: 173.4, gatewayMs: 2, upstreamMs: 171 },
      bytes: { request: 138, response: 9982 },
    });
  });

  it('drops the URI, the query string, the headers and the upstream address', () => {
    const text = JSON.stringify(gatewayRequestOf(kongLogEntrySchema.parse(kongEntry())));
    for (const dropped of [
      'alice@example.com',
      '/v1/encryption/tenants',
      'secret-cookie',
      'sid=secret',
      '10.0.3.17',
      'REDACTED',
      'gateway.example',
    ]) {
      expect(text).not.toContain(dropped);
    }
  });

  it('an answer Kong gave itself (429 from the limit, no consumer, nothing proxied) has no upstream latency', () => {
    const data = gatewayRequestOf(
      kongLogEntrySchema.parse(
        kongEntry({
          consumer: undefined,
          response: { status: 429, size: '412' },
          latencies: { proxy: -1, kong: 3, request: 3 },
          request: { method: 'GET', headers: { 'user-agent': ['curl/8.5.0', 'dup'] } },
          route: { id: '78f79740-c410-4fd9-a998-d0a60a99dc9b', name: null },
          service: null,
          client_ip: '2001:db8::7',
        }),
      ),
    );
    expect(gatewayRequestV1Schema.parse(data)).toEqual({
      occurredAt: '2025-11-24T16:00:00.120Z',
      method: 'GET',
      route: '78f79740-c410-4fd9-a998-d0a60a99dc9b',
      status: 429,
      clientIp: '2001:db8::7',
      userAgent: 'curl/8.5.0',
      latencies: { totalMs: 3, gatewayMs: 3 },
      bytes: { response: 412 },
    });
  });

  it('takes a start time a hair off a whole millisecond, as floating point leaves it', () => {
    expect(gatewayRequestOf(kongLogEntrySchema.parse(kongEntry({ started_at: 1764000000120.0002 }))).occurredAt).toBe(
      '2025-11-24T16:00:00.120Z',
    );
  });

  it('drops a request id that is not a plain token, and cuts a long user agent to 512 characters', () => {
    const data = gatewayRequestOf(
      kongLogEntrySchema.parse(
        kongEntry({ request: { method: 'GET', headers: { 'x-request-id': 'a b\nc', 'user-agent': 'x'.repeat(2000) } } }),
      ),
    );
    expect(data).not.toHaveProperty('requestId');
    expect(data.userAgent).toHaveLength(512);
    expect(gatewayRequestV1Schema.safeParse(data).success).toBe(true);
  });

  it.each([
    ['no client address', { client_ip: undefined }, 'client_ip'],
    ['a client address that is not one', { client_ip: 'localhost' }, 'client_ip'],
    ['a status outside HTTP', { response: { status: 0 } }, 'response.status'],
    ['a method in lower case', { request: { method: 'get' } }, 'request.method'],
    ['a start time in seconds', { started_at: 1764000000 }, 'started_at'],
    ['a negative total latency', { latencies: { request: -1 } }, 'latencies.request'],
    ['a consumer without id', { consumer: { username: 'x' } }, 'consumer.id'],
  ])('refuses an entry with %s', (_case, overrides, path) => {
    const result = kongLogEntrySchema.safeParse(kongEntry(overrides));
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });
});
