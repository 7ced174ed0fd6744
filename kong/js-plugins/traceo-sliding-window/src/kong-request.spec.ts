import { describeRequest, type KongEntity, type KongPdk } from './kong-request';
import { parseSlidingWindowConfig, type KongIdentifier } from './plugin-config';

interface FakeRequest {
  consumer?: KongEntity;
  credential?: KongEntity;
  forwardedIp?: string;
  headers?: Record<string, string>;
  route?: KongEntity;
  path?: string;
}

/** Answers PDK calls the way Kong does for one request (null for what the request lacks) and records them. */
function fakeKong(request: FakeRequest): { kong: KongPdk; calls: string[] } {
  const calls: string[] = [];
  const answer = <T>(method: string, value: T): Promise<T> => {
    calls.push(method);
    return Promise.resolve(value);
  };
  const kong: KongPdk = {
    client: {
      getConsumer: () => answer('kong.client.get_consumer', request.consumer ?? null),
      getCredential: () => answer('kong.client.get_credential', request.credential ?? null),
      getForwardedIp: () => answer('kong.client.get_forwarded_ip', request.forwardedIp ?? null),
    },
    request: {
      getHeader: (name) => answer(`kong.request.get_header(${name})`, request.headers?.[name] ?? null),
      getPath: () => answer('kong.request.get_path', request.path ?? '/'),
      getMethod: () => answer('kong.request.get_method', 'GET'),
    },
    router: { getRoute: () => answer('kong.router.get_route', request.route ?? null) },
    response: { setHeader: () => answer('kong.response.set_header', null), exit: () => answer('kong.response.exit', null) },
    log: { warn: () => answer('kong.log.warn', null) },
  };
  return { kong, calls };
}

const configFor = (identifier: KongIdentifier, headerName?: string) =>
  parseSlidingWindowConfig({
    limits: [10],
    window_sizes: [60],
    identifier,
    ...(headerName ? { header_name: headerName } : {}),
    failure_mode: 'fail-open',
    redis: { host: 'redis', port: 6379 },
  });

describe('describeRequest asks Kong only for what the identifier needs', () => {
  it('consumer: one call when a consumer authenticated', async () => {
    const { kong, calls } = fakeKong({ consumer: { id: 'c-1', name: null }, forwardedIp: '203.0.113.9' });
    expect(await describeRequest(kong, configFor('consumer'))).toEqual({ headers: {}, path: '', consumer: { id: 'c-1' } });
    expect(calls).toEqual(['kong.client.get_consumer']);
  });

  it('consumer: falls back to the credential, then to the forwarded client address', async () => {
    const credentialOnly = fakeKong({ credential: { id: 'cred-7' }, forwardedIp: '203.0.113.9' });
    expect(await describeRequest(credentialOnly.kong, configFor('consumer'))).toMatchObject({ credential: 'cred-7' });
    expect(credentialOnly.calls).toEqual(['kong.client.get_consumer', 'kong.client.get_credential']);

    const anonymous = fakeKong({ forwardedIp: '2001:db8:1:2::7' });
    expect(await describeRequest(anonymous.kong, configFor('consumer'))).toEqual({
      headers: {},
      path: '',
      remoteAddress: '2001:db8:1:2::7',
    });
    expect(anonymous.calls).toEqual(['kong.client.get_consumer', 'kong.client.get_credential', 'kong.client.get_forwarded_ip']);
  });

  it('credential: asks for the credential first', async () => {
    const { kong, calls } = fakeKong({ consumer: { id: 'c-1' }, credential: { id: 'cred-7' } });
    expect(await describeRequest(kong, configFor('credential'))).toMatchObject({ credential: 'cred-7' });
    expect(calls).toEqual(['kong.client.get_credential']);
  });

  it('ip: an address Kong could not make sense of falls back to the anonymous fingerprint headers', async () => {
    const { kong, calls } = fakeKong({ forwardedIp: 'unknown', headers: { 'user-agent': 'curl/8.5.0', accept: '*/*' } });
    expect(await describeRequest(kong, configFor('ip'))).toEqual({
      headers: { 'user-agent': 'curl/8.5.0', accept: '*/*' },
      path: '',
      remoteAddress: 'unknown',
    });
    expect(calls).toEqual([
      'kong.client.get_forwarded_ip',
      'kong.request.get_header(user-agent)',
      'kong.request.get_header(accept)',
      'kong.request.get_header(accept-language)',
      'kong.request.get_header(accept-encoding)',
    ]);
  });

  it('header: reads the named header (lower-cased), else the client address', async () => {
    const present = fakeKong({ headers: { 'x-tenant': ' t-42 ' } });
    expect(await describeRequest(present.kong, configFor('header', 'X-Tenant'))).toMatchObject({ headers: { 'x-tenant': 't-42' } });
    expect(present.calls).toEqual(['kong.request.get_header(x-tenant)']);

    const blank = fakeKong({ headers: { 'x-tenant': '  ' }, forwardedIp: '198.51.100.4' });
    expect(await describeRequest(blank.kong, configFor('header', 'X-Tenant'))).toEqual({
      headers: {},
      path: '',
      remoteAddress: '198.51.100.4',
    });
  });

  it('route: the matched route id, or the path when no route matched', async () => {
    const routed = fakeKong({ route: { id: 'f0e1d2c3-0000-4000-8000-000000000001', name: 'encryption-api' }, path: '/v1/encryption/x' });
    expect(await describeRequest(routed.kong, configFor('route'))).toMatchObject({ route: 'f0e1d2c3-0000-4000-8000-000000000001' });
    expect(routed.calls).toEqual(['kong.router.get_route']);

    const unrouted = fakeKong({ path: '/v1/encryption/x' });
    expect(await describeRequest(unrouted.kong, configFor('route'))).toEqual({ headers: {}, path: '/v1/encryption/x' });
    expect(unrouted.calls).toEqual(['kong.router.get_route', 'kong.request.get_path']);
  });

  it('path: the request path', async () => {
    const { kong, calls } = fakeKong({ path: '/v1/audit/events' });
    expect(await describeRequest(kong, configFor('path'))).toEqual({ headers: {}, path: '/v1/audit/events' });
    expect(calls).toEqual(['kong.request.get_path']);
  });
});
