// Contract test: the real kong-js-pluginserver (kong-pdk 0.6.0) loads the BUILT plugin from
// dist/kong/js-plugins (nx: test:integration depends on build) and is spoken to over its Unix socket
// the way Kong 3.9 does (./kong-rpc.ts), with the environment nginx would leave it: only the variables
// kong.conf's `env` directives name. Redis and Kafka are the shared ones of tools/infra; the Kafka
// topics are in a namespace of this run's own.
import { decodeEvent, TOPICS, type TypedEvent } from '@traceo/contracts';
import { createKafka, deleteNamespaceTopics, ensureTopics } from '@traceo/messaging';
import { createRateLimitRedis } from '@traceo/rate-limit';
import { loadInfraEnv, waitFor, WORKSPACE_ROOT } from '@traceo/testing';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Consumer, Kafka } from 'kafkajs';
import { KAFKA_BROKERS_ENV, KAFKA_NAMESPACE_ENV } from '../src/gateway-events';
import { KONG_CONFIG_FIELDS } from '../src/kong-schema';
import { IDENTIFIER_KEY_ENV } from '../src/plugin-config';
import { KongRpcClient, runPhase, type ProxiedRequest } from './kong-rpc';
import { asKongSendsIt, closedPort, pluginConfig, sharedRedisConfig, TEST_IDENTIFIER_KEY, uniquePrefix } from './support';

const PLUGINS_DIRECTORY = join(WORKSPACE_ROOT, 'dist', 'kong', 'js-plugins');
const PLUGIN_SERVER = join(WORKSPACE_ROOT, 'node_modules', 'kong-pdk', 'bin', 'kong-js-pluginserver');
const PASSWORD_ENV = 'TRACEO_REDIS_PASSWORD';

interface PluginInfo {
  Name: string;
  Version: string;
  Priority: number;
  Phases: string[];
  Schema: { name: string; fields: { config: { type: string; fields: unknown[] } }[] };
}

/** pluginserver_js_query_cmd: what Kong runs (io.popen) at start to learn the plugins and their schemas. */
function dumpAllPlugins(pluginsDirectory: string, env: NodeJS.ProcessEnv): PluginInfo[] {
  const dump = spawnSync(process.execPath, [PLUGIN_SERVER, '--plugins-directory', pluginsDirectory, '--dump-all-plugins'], {
    cwd: tmpdir(),
    env,
    encoding: 'utf8',
  });
  if (dump.status !== 0) throw new Error(`--dump-all-plugins failed (${dump.status}): ${dump.stderr}`);
  return JSON.parse(dump.stdout) as PluginInfo[];
}

describe('kong-js-pluginserver with the built traceo-sliding-window, spoken to as Kong does', () => {
  const prefix = uniquePrefix('pluginserver');
  const prefixDir = mkdtempSync(join(tmpdir(), 'kong-prefix-'));
  const socketPath = join(prefixDir, 'js_pluginserver.sock');
  let env: NodeJS.ProcessEnv;
  let redis: Record<string, unknown>;
  let server: ChildProcess;
  let serverOutput = '';
  let rpc: KongRpcClient;
  let inspector: Redis;
  const namespace = `it-kong-${randomBytes(4).toString('hex')}.`;
  let kafka: Kafka;
  let eventConsumer: Consumer;
  const events: TypedEvent[] = [];

  beforeAll(async () => {
    if (!existsSync(join(PLUGINS_DIRECTORY, 'traceo-sliding-window', 'index.js'))) {
      throw new Error(`${PLUGINS_DIRECTORY}/traceo-sliding-window is not built: nx run kong-plugin-sliding-window:build`);
    }
    const shared = sharedRedisConfig(loadInfraEnv().redisUrl, PASSWORD_ENV, prefix);
    redis = shared.config;
    kafka = createKafka({ brokers: loadInfraEnv().kafkaBrokers, clientId: 'kong-plugin-contract-test', namespace });
    await ensureTopics(
      kafka,
      TOPICS.filter((topic) => topic.name === 'traceo.gateway.request-blocked.v1'),
    );
    eventConsumer = kafka.consumer({ groupId: `${namespace}contract-test` });
    await eventConsumer.connect();
    await eventConsumer.subscribe({ topic: `${namespace}traceo.gateway.request-blocked.v1`, fromBeginning: true });
    await eventConsumer.run({
      eachMessage: ({ message }) => {
        events.push(decodeEvent(message.value));
        return Promise.resolve();
      },
    });
    // nginx clears its workers' environment except `env` directives: the plugin server inherits only those.
    env = {
      ...shared.env,
      [IDENTIFIER_KEY_ENV]: TEST_IDENTIFIER_KEY,
      [KAFKA_BROKERS_ENV]: loadInfraEnv().kafkaBrokers.join(','),
      [KAFKA_NAMESPACE_ENV]: namespace,
    };
    // pluginserver_js_start_cmd, with the prefix and socket of this test instead of /usr/local/kong.
    server = spawn(
      process.execPath,
      [PLUGIN_SERVER, '--plugins-directory', PLUGINS_DIRECTORY, '--kong-prefix', prefixDir, '--sock-name', 'js_pluginserver.sock'],
      {
        cwd: prefixDir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    server.stdout!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString('utf8')));
    server.stderr!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString('utf8')));
    for (let waited = 0; !existsSync(socketPath); waited += 25) {
      if (server.exitCode !== null || waited > 10_000)
        throw new Error(`the plugin server did not listen on ${socketPath}:\n${serverOutput}`);
      await sleep(25);
    }
    rpc = await KongRpcClient.connect(socketPath);
    inspector = createRateLimitRedis(loadInfraEnv().redisUrl, { commandTimeout: 5_000 });
    await once(inspector, 'ready');
  });

  afterAll(async () => {
    rpc?.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    await eventConsumer?.disconnect();
    if (kafka) await deleteNamespaceTopics(kafka);
    if (inspector) {
      const keys = await inspector.keys(`${prefix}*`);
      if (keys.length > 0) await inspector.del(...keys);
      inspector.disconnect();
    }
    rmSync(prefixDir, { recursive: true, force: true });
  });

  /** StartInstance as Kong sends it: the plugin entity's config JSON-encoded by cjson (see asKongSendsIt). */
  const startInstance = (config: Record<string, unknown>, seq = 1) =>
    rpc.call<{ Name: string; Id: number; Config: Record<string, unknown>; StartTime: number }>('plugin.StartInstance', {
      Name: 'traceo-sliding-window',
      Config: JSON.stringify(asKongSendsIt(config, seq)),
    });

  const consumer = (id: string, username: string) => ({ id, username, custom_id: null, created_at: 1764000000, tags: ['tier:free'] });
  const alice: ProxiedRequest = {
    consumer: consumer('9e3f8a10-0000-4000-8000-00000000a11c', 'alice'),
    credential: { id: '5d6e7f80-0000-4000-8000-0000000000c1', consumer: { id: '9e3f8a10-0000-4000-8000-00000000a11c' } },
    forwardedIp: '203.0.113.7',
    method: 'POST',
    path: '/v1/encryption/keyrings',
    headers: { 'x-request-id': 'kong-req-1' },
    route: { id: '6b1c2d3e-0000-4000-8000-0000000000e1', name: 'encryption-service', paths: ['/v1/encryption'] },
  };
  const bob: ProxiedRequest = { ...alice, consumer: consumer('9e3f8a10-0000-4000-8000-000000000b0b', 'bob') };

  it('--dump-all-plugins (pluginserver_js_query_cmd) reports name, version, priority, phases and the config schema', () => {
    const [info, ...others] = dumpAllPlugins(PLUGINS_DIRECTORY, env);
    expect(others).toEqual([]);
    expect(info).toEqual({
      Name: 'traceo-sliding-window',
      Version: '0.1.0',
      Priority: 910,
      Phases: ['access'],
      Schema: { name: 'traceo-sliding-window', fields: [{ config: { type: 'record', fields: KONG_CONFIG_FIELDS } }] },
    });
  });

  it('the built folder is self-contained: the same dump from a copy outside the repository', () => {
    const copy = mkdtempSync(join(tmpdir(), 'kong-js-plugins-'));
    try {
      cpSync(PLUGINS_DIRECTORY, copy, { recursive: true });
      expect(dumpAllPlugins(copy, env)).toEqual(dumpAllPlugins(PLUGINS_DIRECTORY, env));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('plugin.GetPluginInfo answers what the dump said', async () => {
    expect(await rpc.call('plugin.GetPluginInfo', 'traceo-sliding-window')).toEqual(dumpAllPlugins(PLUGINS_DIRECTORY, env)[0]);
  });

  it('starts an instance, and its access phase admits with the RateLimit headers until the limit, then exits 429', async () => {
    const config = pluginConfig({ limits: [2, 100], window_sizes: [60, 3600], redis });
    const started = await startInstance(config);
    expect(started).toMatchObject({
      Name: 'traceo-sliding-window',
      Id: expect.any(Number),
      Config: { limits: [2, 100], header_name: null, __seq__: 1 },
    });

    const first = await runPhase(rpc, started.Id, 'access', alice);
    expect(first.calls).toEqual([
      { method: 'kong.client.get_consumer', args: [], answeredWith: 'plugin.StepConsumer' },
      {
        method: 'kong.response.set_header',
        args: ['RateLimit-Policy', '"gateway-1m";q=2;w=60, "gateway-1h";q=100;w=3600'],
        answeredWith: 'plugin.Step',
      },
      {
        method: 'kong.response.set_header',
        args: ['RateLimit', expect.stringMatching(/^"gateway-1m";r=1;t=\d+, "gateway-1h";r=99;t=\d+$/)],
        answeredWith: 'plugin.Step',
      },
    ]);
    expect(first.exit).toBeUndefined();

    expect((await runPhase(rpc, started.Id, 'access', alice)).responseHeaders.RateLimit).toMatch(/^"gateway-1m";r=0;/);

    const refused = await runPhase(rpc, started.Id, 'access', alice);
    expect(refused.calls.map((call) => call.method)).toEqual([
      'kong.client.get_consumer',
      'kong.request.get_path',
      'kong.request.get_header',
      'kong.request.get_method',
      'kong.router.get_route',
      'kong.response.exit',
    ]);
    expect(refused.exit).toEqual({
      status: 429,
      body: expect.any(String),
      headers: {
        'Content-Type': 'application/problem+json',
        'Retry-After': expect.stringMatching(/^\d+$/),
        'RateLimit-Policy': '"gateway-1m";q=2;w=60, "gateway-1h";q=100;w=3600',
        RateLimit: expect.stringMatching(/^"gateway-1m";r=0;t=\d+, "gateway-1h";r=98;t=\d+$/),
      },
    });
    expect(JSON.parse(refused.exit!.body)).toMatchObject({
      status: 429,
      code: 'RATE_LIMIT.EXCEEDED',
      instance: '/v1/encryption/keyrings',
      requestId: 'kong-req-1',
      'violated-policies': ['gateway-1m'],
      retryAfter: Number(refused.exit!.headers['Retry-After']),
    });

    // Another consumer has a count of its own.
    expect((await runPhase(rpc, started.Id, 'access', bob)).responseHeaders.RateLimit).toMatch(/^"gateway-1m";r=1;/);
  });

  it('publishes the refusal to Kafka as a traceo.gateway.request-blocked.v1 CloudEvent: rule, binding limit, identifier hash; later refusals counted', async () => {
    const started = await startInstance(pluginConfig({ limits: [1], window_sizes: [60], identifier: 'ip', redis }), 6);
    const caller: ProxiedRequest = { ...alice, consumer: undefined, credential: undefined, forwardedIp: '192.0.2.77', method: 'DELETE' };
    const before = events.length;
    expect((await runPhase(rpc, started.Id, 'access', caller)).exit).toBeUndefined();
    for (let i = 0; i < 4; i += 1) expect((await runPhase(rpc, started.Id, 'access', caller)).exit?.status).toBe(429);

    // The first refusal at once; the three within the same second debounced into the next event (flushed after 1 s).
    const published = await waitFor(
      () => {
        const mine = events.slice(before).filter((event) => (event.data as { request?: { method: string } }).request?.method === 'DELETE');
        return Promise.resolve(mine.length >= 2 && mine);
      },
      'two request-blocked events on Kafka',
      15_000,
    );
    expect(published).toHaveLength(2);
    const [first, second] = published;
    expect(first).toMatchObject({
      type: 'traceo.gateway.request-blocked.v1',
      source: '/traceo/kong',
      tenantid: 'platform',
      data: {
        rule: 'gateway',
        policy: 'gateway',
        algorithm: 'sliding-window',
        identifier: { type: 'ip', source: 'ip', fallback: false, hash: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) },
        limit: 1,
        window: 60,
        reason: 'limit-exceeded',
        request: { method: 'DELETE', route: 'encryption-service' },
      },
    });
    expect(first!.data).not.toHaveProperty('suppressed');
    expect(second!.data).toMatchObject({ identifier: (first!.data as { identifier: unknown }).identifier, suppressed: 2 });
    // Never the raw address, the identifier key or the path.
    const raw = JSON.stringify(published);
    for (const secret of ['192.0.2.77', TEST_IDENTIFIER_KEY, '/v1/encryption/keyrings']) expect(raw).not.toContain(secret);
  });

  it('an anonymous request is limited per forwarded client address, each lookup answered with its typed Step', async () => {
    const started = await startInstance(pluginConfig({ limits: [5], window_sizes: [60], redis }), 2);
    const anonymous = await runPhase(rpc, started.Id, 'access', { forwardedIp: '198.51.100.23', path: '/v1/auth/token' });
    expect(anonymous.calls.map((call) => [call.method, call.answeredWith])).toEqual([
      ['kong.client.get_consumer', 'plugin.StepConsumer'],
      ['kong.client.get_credential', 'plugin.StepCredential'],
      ['kong.client.get_forwarded_ip', 'plugin.Step'],
      ['kong.response.set_header', 'plugin.Step'],
      ['kong.response.set_header', 'plugin.Step'],
    ]);
    expect(anonymous.responseHeaders).toEqual({
      'RateLimit-Policy': '"gateway";q=5;w=60',
      RateLimit: expect.stringMatching(/^"gateway";r=4;t=\d+$/),
    });
  });

  it('holds one Redis connection for all the instances on the same Redis settings', async () => {
    const clients = (await inspector.client('LIST')) as string;
    const named = clients.split('\n').filter((line) => line.includes(` name=traceo-sliding-window-${server.pid} `));
    expect(named).toHaveLength(1);
  });

  it('a fail-closed instance whose Redis is unreachable exits 503 RATE_LIMIT.UNAVAILABLE', async () => {
    const started = await startInstance(
      pluginConfig({
        identifier: 'ip',
        failure_mode: 'fail-closed',
        redis: { host: '127.0.0.1', port: await closedPort(), timeout_ms: 50 },
      }),
      3,
    );
    const refused = await runPhase(rpc, started.Id, 'access', alice);
    expect(refused.calls.map((call) => call.method)).toEqual([
      'kong.client.get_forwarded_ip',
      'kong.log.warn',
      'kong.request.get_path',
      'kong.request.get_header',
      'kong.request.get_method',
      'kong.router.get_route',
      'kong.response.exit',
    ]);
    expect(refused.exit).toMatchObject({ status: 503, headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '1' } });
    expect(JSON.parse(refused.exit!.body)).toMatchObject({ status: 503, code: 'RATE_LIMIT.UNAVAILABLE' });
    expect(serverOutput).toMatch(/traceo-sliding-window: Redis 127\.0\.0\.1:\d+\/0 unreachable/);
    const event = await waitFor(
      () => Promise.resolve(events.find((candidate) => (candidate.data as { reason?: string }).reason === 'store-unavailable')),
      'the store-unavailable request-blocked event',
      15_000,
    );
    expect(event.data).toMatchObject({
      reason: 'store-unavailable',
      degraded: true,
      identifier: { type: 'ip' },
      request: { method: 'POST' },
    });
  });

  it('plugin.StartInstance refuses an invalid config with an error naming the field (Kong logs "starting instance: …")', async () => {
    await expect(startInstance(pluginConfig({ limits: [10, 100], window_sizes: [60], redis }), 4)).rejects.toThrow(
      'invalid traceo-sliding-window configuration: window_sizes: must list one window per limit (limits has 2, window_sizes has 1)',
    );
  });

  it('plugin.InstanceStatus and plugin.CloseInstance; a closed instance answers "no plugin instance", which makes Kong start it again', async () => {
    const started = await startInstance(pluginConfig({ redis }), 5);
    expect(await rpc.call('plugin.InstanceStatus', started.Id)).toMatchObject({ Name: 'traceo-sliding-window', Id: started.Id });
    expect(await rpc.call('plugin.CloseInstance', started.Id)).toMatchObject({ Name: 'traceo-sliding-window', Id: started.Id });
    await expect(rpc.call('plugin.HandleEvent', { InstanceId: started.Id, EventName: 'access' })).rejects.toThrow(
      `no plugin instance #${started.Id}`,
    );
  });
});
