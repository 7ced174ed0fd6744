import { setTimeout } from 'node:timers/promises';
import { createKafka } from '@traceo/messaging';
import { loadInfraEnv, startGroupAtEnd, waitFor, withClient } from '@traceo/testing';
import {
  AUTH_PORT,
  AUTHORIZED,
  authServiceEnv,
  DOMAIN,
  MachineClients,
  newRunId,
  SERVICES,
  serviceEnv,
  startBuiltService,
  waitForReady,
  type ServiceName,
  type StartedService,
} from './services';

interface AuditRecordView {
  source: string;
  record: { action: string; status: string; resource: { type: string; id: string | null } };
}

describe('the five services, built and running against real PostgreSQL and Kafka', () => {
  const infra = loadInfraEnv();
  const run = newRunId();
  const services = new Map<ServiceName, StartedService>();
  const url = (name: ServiceName) => services.get(name)!.url;
  // The services' own records (service.started, api.request) are written to the platform tenant's log.
  const clients = new MachineClients({ auditor: { tenant: 'platform', roles: ['auditor'] } });
  // auth-service listens where every service expects the token issuer; the others follow it.
  const port = (name: ServiceName) => (name === 'auth-service' ? AUTH_PORT : 4301 + SERVICES.indexOf(name));
  /** The platform log's records matching these filters (newest first), as an auditor reads them. */
  const platformRecords = async (filters: Record<string, string>): Promise<AuditRecordView[]> => {
    const query = new URLSearchParams({ ...filters, limit: '1000' });
    const response = await fetch(`${url('audit-service')}/v1/audit/tenants/platform/records/search?${query.toString()}`, {
      headers: await clients.bearer('auditor'),
    });
    return ((await response.json()) as { records: AuditRecordView[] }).records;
  };

  beforeAll(async () => {
    const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'e2e' });
    await startGroupAtEnd(kafka, `e2e-audit-service-${run}`, 'traceo.audit.record.v1');
    await Promise.all(
      SERVICES.map(async (name) => {
        // audit-service seals personal data through the encryption-service started beside it.
        const env =
          name === 'auth-service'
            ? authServiceEnv(run, clients)
            : serviceEnv(name, port(name), run, `http://127.0.0.1:${port('encryption-service')}`);
        const process = startBuiltService(name, env);
        const started = {
          name,
          url: `http://127.0.0.1:${port(name)}`,
          schema: env.TRACEO_DATABASE_SCHEMA!,
          group: env.TRACEO_KAFKA_CONSUMER_GROUP!,
          process,
        };
        services.set(name, started);
        await waitForReady(started.url, process);
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([...services.values()].map((service) => service.process.stop('SIGKILL')));
    await withClient(infra.databaseUrl, async (client) => {
      for (const service of services.values()) await client.query(`DROP SCHEMA IF EXISTS "${service.schema}" CASCADE`);
    });
  });

  it('each reports live and ready with its database and Kafka checked', async () => {
    for (const name of SERVICES) {
      const live = await fetch(`${url(name)}/health/live`);
      expect(live.status).toBe(200);
      const ready = (await (await fetch(`${url(name)}/health/ready`)).json()) as {
        status: string;
        info: Record<string, { status: string }>;
      };
      expect(ready.status).toBe('ok');
      expect(ready.info.database?.status).toBe('up');
      expect(ready.info.kafka?.status).toBe('up');
    }
  });

  it('each serves its OpenAPI document at /docs-json and Prometheus metrics at /metrics', async () => {
    for (const name of SERVICES) {
      const openapi = (await (await fetch(`${url(name)}/docs-json`)).json()) as {
        openapi: string;
        info: { title: string };
        paths: Record<string, unknown>;
      };
      expect(openapi.openapi).toMatch(/^3\./);
      expect(openapi.info.title).toBe(name);
      expect(Object.keys(openapi.paths)).toContain(`/v1/${DOMAIN[name]}/info`);
      const metrics = await (await fetch(`${url(name)}/metrics`)).text();
      expect(metrics).toContain('traceo_outbox_relayed_total');
      expect(metrics).toContain('process_cpu_seconds_total');
    }
  });

  it('loads the ES-module-only libraries in the running CommonJS services on Node 24', async () => {
    const auth = (await (await fetch(`${url('auth-service')}/v1/auth/info`)).json()) as {
      runtime: { node: string };
      esmLibraries: Record<string, boolean>;
    };
    expect(auth.runtime.node).toMatch(/^24\./);
    expect(auth.esmLibraries).toEqual({ 'oidc-provider': true, 'openid-client': true, jose: true });
    const encryption = (await (await fetch(`${url('encryption-service')}/v1/encryption/info`)).json()) as {
      esmLibraries: Record<string, boolean>;
    };
    expect(encryption.esmLibraries).toEqual({ '@noble/post-quantum': true });
  });

  it('answers bad input with problem+json and a stable code, never a 500', async () => {
    const invalid = await fetch(`${url('audit-service')}/v1/audit/records?limit=0`, { headers: await clients.bearer('auditor') });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await invalid.json()) as { code: string }).code).toBe('REQUEST.VALIDATION_FAILED');
    const missing = await fetch(`${url('risk-service')}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('REQUEST.NOT_FOUND');
  });

  it('denies an API call without a valid API key and audits the denial', async () => {
    const anonymous = await fetch(`${url('audit-service')}/v1/audit/records`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe('AUTH.UNAUTHENTICATED');
    const wrong = await fetch(`${url('audit-service')}/v1/audit/legal-holds`, { headers: { authorization: 'Bearer not-the-key' } });
    expect(wrong.status).toBe(401);
    await waitFor(
      async () => {
        // Only audit-service's own records: other services' traffic on a shared Kafka may call the same route.
        const records = await platformRecords({ action: 'api.request', resourceType: 'http-route', resourceId: 'GET /v1/audit/records' });
        return records.some((entry) => entry.source === '/traceo/audit-service' && entry.record.status === 'denied') || undefined;
      },
      'the denied call in the audit log',
      30000,
      250,
    );
  });

  it('records every start-up and every API call in the audit log, through each outbox and Kafka', async () => {
    for (const name of SERVICES) expect((await fetch(`${url(name)}/v1/${DOMAIN[name]}/info`)).status).toBe(200);
    const sources = SERVICES.map((name) => `/traceo/${name}`).sort();
    // Asked service by service (by resource), so one busy service (or other processes on a shared Kafka)
    // cannot push another's records out of the page.
    const recorded = async (filtersOf: (name: ServiceName) => Record<string, string>, check: (status: string) => boolean) => {
      const found: string[] = [];
      for (const name of SERVICES) {
        const records = await platformRecords(filtersOf(name));
        if (records.some((entry) => entry.source === `/traceo/${name}` && check(entry.record.status))) found.push(`/traceo/${name}`);
      }
      return found.length === sources.length ? found.sort() : undefined;
    };
    expect(
      await waitFor(
        () =>
          recorded(
            (name) => ({ action: 'service.started', resourceType: 'service', resourceId: name }),
            () => true,
          ),
        'service.started from all five services',
        30000,
        250,
      ),
    ).toEqual(sources);
    expect(
      await waitFor(
        () =>
          recorded(
            (name) => ({ action: 'api.request', resourceType: 'http-route', resourceId: `GET /v1/${DOMAIN[name]}/info` }),
            (status) => status === 'success',
          ),
        'api.request records from all five services',
        30000,
        250,
      ),
    ).toEqual(sources);
  });

  it('limits a hammered route per principal: 429 problem+json with RateLimit fields, and the block on Kafka for risk', async () => {
    // An encryption-service of its own, with the default rule tightened to 5 per minute.
    const own = newRunId();
    const base = 'http://127.0.0.1:4351';
    const env: Record<string, string> = {
      ...serviceEnv('encryption-service', 4351, own),
      TRACEO_RATE_LIMIT_RULES: JSON.stringify({ rules: [{ name: 'default', limit: [5], window_size: [60], failure_mode: 'open' }] }),
    };
    const encryption = startBuiltService('encryption-service', env);
    const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: `e2e-rate-limit-${own}` });
    const group = `e2e-rate-limit-${own}`;
    const consumer = kafka.consumer({ groupId: group });
    const blocked: { source: string; type: string; data: Record<string, unknown> }[] = [];
    try {
      await waitForReady(base, encryption);
      expect(encryption.output()).toContain('"store":"redis","redis":"connected"');
      await startGroupAtEnd(kafka, group, 'traceo.gateway.request-blocked.v1');
      await consumer.connect();
      await consumer.subscribe({ topic: 'traceo.gateway.request-blocked.v1' });
      await consumer.run({
        eachMessage: ({ message }) => {
          blocked.push(JSON.parse(message.value!.toString()) as (typeof blocked)[number]);
          return Promise.resolve();
        },
      });

      const responses: Response[] = [];
      for (let i = 0; i < 8; i += 1)
        responses.push(await fetch(`${base}/v1/encryption/tenants/acme-${own}/keyrings`, { headers: AUTHORIZED }));
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      expect(responses[0]!.headers.get('ratelimit-policy')).toBe('"default";q=5;w=60');
      expect(responses[0]!.headers.get('ratelimit')).toMatch(/^"default";r=4;t=\d+$/);
      const refused = responses[5]!;
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
      expect(await refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMIT.EXCEEDED', 'violated-policies': ['default'] });

      const event = await waitFor(
        () =>
          Promise.resolve(blocked.find((candidate) => candidate.source === '/traceo/encryption-service' && candidate.data['limit'] === 5)),
        'the traceo.gateway.request-blocked.v1 event on Kafka',
        30000,
        200,
      );
      expect(event).toMatchObject({
        type: 'traceo.gateway.request-blocked.v1',
        data: {
          rule: 'default',
          identifier: { type: 'consumer', source: 'consumer', fallback: false },
          window: 60,
          tier: 'standard',
          reason: 'limit-exceeded',
          degraded: false,
          request: { method: 'GET', route: '/v1/encryption/tenants/:tenantId/keyrings' },
        },
      });
      expect(JSON.stringify(event)).not.toContain(AUTHORIZED.authorization.slice('Bearer '.length));
    } finally {
      await consumer.disconnect();
      await encryption.stop('SIGKILL');
      await withClient(infra.databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS "${env.TRACEO_DATABASE_SCHEMA!}" CASCADE`));
    }
  });

  it("turns Kong's http-log batches into traceo.gateway.request.v1 events on Kafka, keeping the valid entries of a batch with a bad one", async () => {
    const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: `e2e-gateway-events-${run}` });
    const group = `e2e-gateway-events-${run}`;
    const consumer = kafka.consumer({ groupId: group });
    const received: { source: string; type: string; data: Record<string, unknown> }[] = [];
    const mine = (event: (typeof received)[number]) =>
      typeof event.data['requestId'] === 'string' && event.data['requestId'].startsWith(`gw-${run}-`);
    // One entry as Kong 3.9's log serializer writes it (kong.log.serialize), with this run's request id.
    const entry = (requestId: string, overrides: Record<string, unknown> = {}) => ({
      request: {
        method: 'POST',
        uri: `/v1/encryption/tenants/acme-${run}/keyrings?email=alice@example.com`,
        url: `https://gateway.example:8443/v1/encryption/tenants/acme-${run}/keyrings?email=alice@example.com`,
        querystring: { email: 'alice@example.com' },
        headers: { authorization: 'REDACTED', cookie: 'session=secret-cookie', 'user-agent': 'acme-sync/2.1', 'x-request-id': requestId },
        size: 138,
      },
      upstream_uri: `/v1/encryption/tenants/acme-${run}/keyrings`,
      response: { status: 201, headers: { 'content-type': 'application/json' }, size: 512 },
      tries: [{ ip: '10.0.3.17', port: 8080, balancer_latency: 0 }],
      latencies: { kong: 2, proxy: 40, request: 42.5 },
      route: { id: '78f79740-c410-4fd9-a998-d0a60a99dc9b', name: 'encryption-api', paths: ['/v1/encryption'] },
      service: { id: 'fd2ba6c1-1b83-4e79-8e6a-8c7e4f1f2f2e', name: 'encryption-service' },
      consumer: { id: 'c0ffee00-0000-4000-8000-00000000a11c', username: 'acme-sync' },
      client_ip: '203.0.113.7',
      started_at: Date.now(),
      ...overrides,
    });
    const endpoint = `${url('risk-service')}/v1/risk/gateway-events`;
    const post = (body: string, headers: Record<string, string> = AUTHORIZED) =>
      fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    try {
      await startGroupAtEnd(kafka, group, 'traceo.gateway.request.v1');
      await consumer.connect();
      await consumer.subscribe({ topic: 'traceo.gateway.request.v1' });
      await consumer.run({
        eachMessage: ({ message }) => {
          received.push(JSON.parse(message.value!.toString()) as (typeof received)[number]);
          return Promise.resolve();
        },
      });

      const batch = [
        entry(`gw-${run}-1`),
        entry(`gw-${run}-2`, { client_ip: 'not-an-address' }),
        entry(`gw-${run}-3`, { consumer: null, response: { status: 429, size: 300 }, latencies: { kong: 1, proxy: -1, request: 1 } }),
      ];
      const accepted = await post(JSON.stringify(batch));
      expect(accepted.status).toBe(202);
      expect(await accepted.json()).toEqual({
        accepted: 2,
        rejectedCount: 1,
        rejected: [{ index: 1, code: 'RISK.INVALID_GATEWAY_ENTRY', issues: [expect.stringMatching(/^client_ip: /)] }],
      });

      const events = await waitFor(
        () => {
          const ours = received.filter(mine);
          return Promise.resolve(ours.length >= 2 && ours);
        },
        'two traceo.gateway.request.v1 events on Kafka',
        30000,
        200,
      );
      expect(events.map((event) => event.data['requestId']).sort()).toEqual([`gw-${run}-1`, `gw-${run}-3`]);
      const proxied = events.find((event) => event.data['requestId'] === `gw-${run}-1`)!;
      expect(proxied).toMatchObject({
        type: 'traceo.gateway.request.v1',
        source: '/traceo/risk-service',
        tenantid: 'platform',
        data: {
          method: 'POST',
          route: 'encryption-api',
          service: 'encryption-service',
          status: 201,
          clientIp: '203.0.113.7',
          consumer: { id: 'c0ffee00-0000-4000-8000-00000000a11c', username: 'acme-sync' },
          userAgent: 'acme-sync/2.1',
          latencies: { totalMs: 42.5, gatewayMs: 2, upstreamMs: 40 },
          bytes: { request: 138, response: 512 },
        },
      });
      expect(events.find((event) => event.data['requestId'] === `gw-${run}-3`)!.data).toMatchObject({
        status: 429,
        latencies: { totalMs: 1, gatewayMs: 1 },
      });
      for (const kept of ['alice@example.com', 'secret-cookie', '10.0.3.17', `acme-${run}`])
        expect(JSON.stringify(events)).not.toContain(kept);

      // Batch-level refusals: problem+json with a stable code, nothing published.
      for (const [body, code] of [
        ['{}', 'RISK.INVALID_GATEWAY_BATCH'],
        ['[]', 'RISK.INVALID_GATEWAY_BATCH'],
        ['"entry"', 'REQUEST.MALFORMED_JSON'], // the JSON parser is strict: an object or an array
        [JSON.stringify(Array.from({ length: 1001 }, () => ({}))), 'RISK.INVALID_GATEWAY_BATCH'],
        ['[{"started_at": 1', 'REQUEST.MALFORMED_JSON'],
      ]) {
        const refused = await post(body!);
        expect({ body: body!.slice(0, 20), status: refused.status }).toEqual({ body: body!.slice(0, 20), status: 400 });
        expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(((await refused.json()) as { code: string }).code).toBe(code);
      }
      // Deny by default: no credential, and a credential without risk:assess (an auditor).
      expect((await post(JSON.stringify(batch), {})).status).toBe(401);
      expect((await post(JSON.stringify(batch), await clients.bearer('auditor'))).status).toBe(403);
      await setTimeout(500);
      expect(received.filter(mine)).toHaveLength(2);
    } finally {
      await consumer.disconnect();
    }
  });

  it('shuts every service down cleanly on SIGTERM with its outbox drained', async () => {
    const exits = await Promise.all([...services.values()].map((service) => service.process.stop('SIGTERM')));
    expect(exits.map((exit) => exit.code)).toEqual(SERVICES.map(() => 0));
    await withClient(infra.databaseUrl, async (client) => {
      for (const service of services.values()) {
        const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${service.schema}".outbox`);
        expect({ service: service.name, pending: rows[0]!.n }).toEqual({ service: service.name, pending: 0 });
      }
    });
    for (const service of services.values()) expect(service.process.output()).toContain('"msg":"stopped"');
  });
});

describe('bad configuration', () => {
  const run = newRunId();

  it.each(SERVICES)('%s refuses to start without TRACEO_DATABASE_URL and names it', async (name) => {
    const process = startBuiltService(name, { ...serviceEnv(name, 4399, run), TRACEO_DATABASE_URL: undefined });
    const exit = await process.exited;
    expect(exit.code).toBe(78);
    expect(process.output()).toContain('TRACEO_DATABASE_URL is required');
  });

  it('names a malformed variable without echoing its value', async () => {
    const process = startBuiltService('audit-service', {
      ...serviceEnv('audit-service', 4399, run),
      TRACEO_KAFKA_BROKERS: 'kafka-without-port',
      TRACEO_HTTP_PORT: '99999',
    });
    expect((await process.exited).code).toBe(78);
    expect(process.output()).toContain('TRACEO_KAFKA_BROKERS must be a comma-separated list of host:port');
    expect(process.output()).toContain('TRACEO_HTTP_PORT');
    expect(process.output()).not.toContain('kafka-without-port');
  });
});
