import { Writable } from 'node:stream';
import { httpLoggingParams } from './http-logging';
import { createLogger } from './logger';
import { CENSOR, MAX_DEPTH, redactSecrets, TOO_DEEP } from './redaction';

const SECRET = 's3cr3t-value-9f2c';

/** A logger configured as every service's, writing its lines into `lines`. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('test-service', 'info', sink), lines };
}

function logged(object: object, message = 'line'): { raw: string; parsed: Record<string, unknown> } {
  const { logger, lines } = capturingLogger();
  logger.info(object, message);
  expect(lines).toHaveLength(1);
  return { raw: lines[0]!, parsed: JSON.parse(lines[0]!) as Record<string, unknown> };
}

describe('log redaction through the service logger', () => {
  it('censors secret members at the top level and nested in objects and arrays', () => {
    const { raw, parsed } = logged({
      token: SECRET,
      user: { id: 'u-1', password: SECRET },
      clients: [{ clientId: 'c-1', client_secret: SECRET }],
      config: { TRACEO_DATABASE_URL: `postgres://traceo:${SECRET}@db/traceo`, TRACEO_HTTP_PORT: 8080 },
    });
    expect(raw).not.toContain(SECRET);
    expect(parsed.token).toBe(CENSOR);
    expect(parsed.user).toEqual({ id: 'u-1', password: CENSOR });
    expect(parsed.clients).toEqual([{ clientId: 'c-1', client_secret: CENSOR }]);
    expect(parsed.config).toEqual({ TRACEO_DATABASE_URL: CENSOR, TRACEO_HTTP_PORT: 8080 });
  });

  it('matches names whatever their case', () => {
    const { raw, parsed } = logged({ headers: { Authorization: `Bearer ${SECRET}`, 'X-API-Key': SECRET, accept: 'text/html' } });
    expect(raw).not.toContain(SECRET);
    expect(parsed.headers).toEqual({ Authorization: CENSOR, 'X-API-Key': CENSOR, accept: 'text/html' });
  });

  it('censors secret properties of an error and of its cause, keeping the error type, message and stack', () => {
    class UpstreamError extends Error {}
    const cause = Object.assign(new Error('inner'), { refreshToken: SECRET });
    const error = Object.assign(new UpstreamError('upstream refused', { cause }), { status: 502, accessToken: SECRET });
    const { raw, parsed } = logged({ err: error }, 'call failed');
    expect(raw).not.toContain(SECRET);
    const err = parsed.err as Record<string, unknown>;
    expect(err.type).toBe('UpstreamError');
    expect(err.message).toContain('upstream refused');
    expect(err.stack).toContain('upstream refused');
    expect(err.status).toBe(502);
    expect(err.accessToken).toBe(CENSOR);
    // The caller's error is not changed.
    expect(error.accessToken).toBe(SECRET);
    expect((error.cause as { refreshToken: string }).refreshToken).toBe(SECRET);
  });

  it('censors an error logged on its own', () => {
    const { lines, logger } = capturingLogger();
    logger.error(Object.assign(new Error('boom'), { pin: SECRET }));
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).toContain('boom');
  });

  it("censors a child logger's bindings", () => {
    const { lines, logger } = capturingLogger();
    const child = logger.child({ apiKey: SECRET, tenant: 't-1' });
    child.info('bound');
    child.child({ component: 'relay', credentials: { password: SECRET } }).info('grandchild');
    expect(lines.join('')).not.toContain(SECRET);
    expect(JSON.parse(lines[0]!)).toMatchObject({ apiKey: CENSOR, tenant: 't-1', service: 'test-service' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ apiKey: CENSOR, component: 'relay', credentials: { password: CENSOR } });
  });

  it('replaces what is nested too deep to walk, so nothing below it is shown', () => {
    let deep: Record<string, unknown> = { secret: SECRET, note: 'bottom' };
    for (let i = 0; i < MAX_DEPTH + 4; i += 1) deep = { next: deep };
    const { raw } = logged({ deep });
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain('bottom');
    expect(raw).toContain(TOO_DEEP);
  });

  it('writes a line for a circular object without a secret in it', () => {
    const circular: Record<string, unknown> = { name: 'loop', password: SECRET };
    circular.self = circular;
    const { raw } = logged({ circular });
    expect(raw).not.toContain(SECRET);
    expect(raw).toContain('loop');
  });

  it('the HTTP request and response serializers keep no headers', () => {
    const { serializers } = httpLoggingParams('test-service', 'info').pinoHttp as {
      serializers: { req(req: object): unknown; res(res: object): unknown };
    };
    const req = { id: 'r-1', method: 'POST', url: '/v1/x?token=abc', headers: { authorization: `Bearer ${SECRET}`, cookie: SECRET } };
    const res = { statusCode: 200, headers: { 'set-cookie': SECRET } };
    expect(JSON.stringify(serializers.req(req))).not.toContain(SECRET);
    expect(serializers.req(req)).toEqual({ id: 'r-1', method: 'POST', url: '/v1/x' });
    expect(serializers.res(res)).toEqual({ statusCode: 200 });
  });
});

describe('redactSecrets', () => {
  it('returns the same object when it holds no secret (nothing is copied)', () => {
    const object = { req: { id: 'r-1' }, list: [1, { a: 'b' }], responseTime: 3, at: new Date(0) };
    expect(redactSecrets(object)).toBe(object);
  });

  it('copies only the path to a secret and leaves the caller’s object as it was', () => {
    const untouched = { a: 1 };
    const object = { untouched, nested: { token: SECRET } };
    const redacted = redactSecrets(object);
    expect(redacted).not.toBe(object);
    expect(redacted.untouched).toBe(untouched);
    expect(redacted.nested).toEqual({ token: CENSOR });
    expect(object.nested.token).toBe(SECRET);
  });

  it('does not walk class instances other than errors (their serializers decide what is logged)', () => {
    class Request {
      constructor(readonly headers: Record<string, string>) {}
    }
    const request = new Request({ cookie: SECRET });
    expect(redactSecrets({ request }).request).toBe(request);
  });

  it('leaves primitives and members whose names only resemble a secret name', () => {
    expect(redactSecrets('token')).toBe('token');
    expect(redactSecrets({ tokenType: 'Bearer', keyId: 'k-1', pinned: true })).toEqual({ tokenType: 'Bearer', keyId: 'k-1', pinned: true });
  });
});
