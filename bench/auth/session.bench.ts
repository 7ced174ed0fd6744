// bench/auth/session — continuous evaluation on the real auth-service (built by tools/build.mjs, its
// own process, real PostgreSQL, Kafka and SoftHSM2, scratch schema dropped at the end):
//   1. the risk decision round trip over Kafka request-reply: bare KafkaRequester -> KafkaResponder in
//      this process (the floor), and what the service measured for its own requests (its
//      traceo_auth_risk_request_seconds histogram), with how many decisions fell back at the deadline;
//   2. what asking costs a refresh: sequential refresh_token grants while the stand-in risk service
//      answers, then while it is silent (after five unanswered requests the service stops asking for
//      30 s and the local policy decides at once);
//   3. the session-revoke command: publish traceo.auth.session-revoke.v1 for one session to Kafka,
//      then introspect its refresh token every 5 ms until inactive; target: within one second.
// The stand-in risk service is a KafkaResponder answering `allow`. Not a test.
//
//   npm run bench:auth:session -- [--sessions 20] [--refreshes 200] [--worktree]
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, encodeEvent, EventTypes, type TypedEvent } from '@traceo/contracts';
import { brokerName, createKafka, ensureTopics, KafkaRequester, KafkaResponder } from '@traceo/messaging';
import { freePort, loadInfraEnv, withClient } from '@traceo/testing';
import * as oidc from 'openid-client';
import { TestBrowser } from '../../apps/auth-service/test/browser';
import { signIn } from '../../apps/auth-service/test/flows';
import { basicCredentials, TokenClient } from './http-load';
import { benchNamespace } from '../kafka-namespace';
import { buildAuthService, startAuthService } from './service-process';
import { adminClients, benchTenant, registerAppAndUser } from './tenant';

const args = new Map(process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1] ?? '']] : [])));
const SESSIONS = Number(args.get('sessions') ?? 20);
const REFRESHES = Number(args.get('refreshes') ?? 200);
const FLOOR_REQUESTS = 300;
const BUILD_FROM = process.argv.includes('--worktree') ? 'worktree' : 'head';
/** The service's default (docs/auth-risk.md). */
const DEADLINE_MS = 50;

const RUN = randomBytes(3).toString('hex');
const BENCH_TENANT = benchTenant(RUN);
const TENANT = BENCH_TENANT.id;
const APP = BENCH_TENANT.app;

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
  return `p50 ${at(50).toFixed(1)} ms, p95 ${at(95).toFixed(1)} ms, p99 ${at(99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (n=${sorted.length})`;
}

/** Prometheus text: the sum of a metric's samples whose labels contain every given pair. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) total += Number(line.split(' ').at(-1));
  }
  return total;
}

async function main(): Promise<void> {
  const env = loadInfraEnv();
  // The run's own topics, shared with the auth-service it starts (see bench/kafka-namespace.ts).
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: `bench-session-${RUN}`, namespace: benchNamespace(RUN) });
  await ensureTopics(kafka);
  let silent = false;
  const responder = new KafkaResponder({
    kafka,
    requestType: EventTypes.riskDecisionRequest,
    groupId: `bench-risk-responder-${RUN}`,
    answer: (request) => {
      if (silent || (request.tenantid !== TENANT && request.tenantid !== `${TENANT}-floor`)) return Promise.resolve(undefined);
      const reply = createEvent({
        type: EventTypes.riskDecision,
        source: 'bench-risk',
        tenantid: request.tenantid,
        data: { requestId: request.id, decidedAt: new Date().toISOString(), decision: 'allow', score: 1, reasons: ['BENCH.ALLOW'] },
      });
      return Promise.resolve({ topic: EventTypes.riskDecision, reply });
    },
  });
  await responder.start();

  // 1a. The floor: request-reply between two clients in this process, sequential.
  const requester = new KafkaRequester({
    kafka,
    replyType: EventTypes.riskDecision,
    correlationOf: (reply) => reply.data.requestId,
    groupPrefix: `bench-risk-floor-${RUN}`,
  });
  await requester.start();
  const floor: number[] = [];
  let floorTimeouts = 0;
  for (let n = 0; n < FLOOR_REQUESTS; n += 1) {
    const request: TypedEvent = createEvent({
      type: EventTypes.riskDecisionRequest,
      source: 'bench-session',
      tenantid: `${TENANT}-floor`,
      data: {
        occurredAt: new Date().toISOString(),
        deadline: new Date(Date.now() + 1000).toISOString(),
        replyTo: EventTypes.riskDecision,
        stage: 'refresh',
        accountId: '00000000-0000-4000-8000-000000000000',
        clientId: 'bench',
        roles: ['end-user'],
        amr: ['pwd'],
      },
    });
    const outcome = await requester.request(EventTypes.riskDecisionRequest, request, 'bench', 1000);
    if (outcome.outcome === 'reply') floor.push(outcome.elapsedMs);
    else floorTimeouts += 1;
  }
  await requester.stop();

  const main = buildAuthService(BUILD_FROM);
  const auth = await startAuthService(main, {
    port: await freePort(),
    run: RUN,
    clients: adminClients(BENCH_TENANT),
    env: { TRACEO_AUTH_RISK_DEADLINE_MS: String(DEADLINE_MS) },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await registerAppAndUser(auth, BENCH_TENANT, { grant_types: ['authorization_code', 'refresh_token'] });
    const config = await oidc.discovery(new URL(auth.issuer), APP.id, APP.secret, undefined, { execute: [oidc.allowInsecureRequests] });
    // Give the service's reply consumer time to join its group (it answers `unavailable` until then).
    await sleep(3000);

    // 1b. Sign-ins, each its own browser and session, each asking the risk service.
    const sessions: { refreshToken: string }[] = [];
    for (let n = 0; n < SESSIONS; n += 1) {
      const signedIn = await signIn(
        config,
        auth.origin,
        { ...BENCH_TENANT.user },
        { redirectUri: BENCH_TENANT.redirect, browser: new TestBrowser(), scope: 'openid offline_access api' },
      );
      const tokens = await oidc.authorizationCodeGrant(config, signedIn.callback, {
        pkceCodeVerifier: signedIn.verifier,
        expectedState: signedIn.state,
        expectedNonce: signedIn.nonce,
      });
      sessions.push({ refreshToken: tokens.refresh_token! });
    }

    // 2. Sequential refreshes on one chain: risk service answering, then silent.
    const client = new TokenClient(`${auth.issuer}/token`, basicCredentials(APP.id, APP.secret), 1);
    let chain = sessions.at(-1)!.refreshToken;
    const refreshes = async (count: number) => {
      const latencies: number[] = [];
      for (let n = 0; n < count; n += 1) {
        const at = performance.now();
        const answer = await client.post({ grant_type: 'refresh_token', refresh_token: chain });
        if (answer.status !== 200) throw new Error(`refresh: ${answer.status} ${JSON.stringify(answer.body)}`);
        latencies.push(performance.now() - at);
        chain = String(answer.body['refresh_token']);
      }
      return latencies;
    };
    await refreshes(20); // warm-up
    const asking = await refreshes(REFRESHES);
    const metricsAsking = await (await fetch(`${auth.origin}/metrics`)).text();
    silent = true;
    await refreshes(10); // five time out, then the circuit opens
    const local = await refreshes(REFRESHES);
    silent = false;
    const metricsText = await (await fetch(`${auth.origin}/metrics`)).text();
    client.close();

    // 3. session-revoke for one session at a time; latency until its refresh token is inactive.
    await producer.connect();
    const revokes: number[] = [];
    for (const session of sessions.slice(0, -1)) {
      const introspect = async () => (await oidc.tokenIntrospection(config, session.refreshToken)).active;
      if (!(await introspect())) throw new Error('a session was inactive before its revoke');
      const { sessionId, accountId } = await sessionOf(config, auth.schema, session.refreshToken);
      const event = createEvent({
        type: EventTypes.authSessionRevoke,
        source: 'bench-session',
        tenantid: TENANT,
        data: {
          occurredAt: new Date().toISOString(),
          accountId,
          sessionId,
          reason: 'bench',
          requestedBy: { type: 'service', id: 'bench' },
        },
      });
      const started = performance.now();
      await producer.send({
        topic: brokerName(kafka, EventTypes.authSessionRevoke),
        acks: -1,
        messages: [{ key: TENANT, value: encodeEvent(event) }],
      });
      while (await introspect()) {
        if (performance.now() - started > 15_000) throw new Error('session not revoked within 15 s');
        await sleep(5);
      }
      revokes.push(performance.now() - started);
    }

    const byStage = (source: string) => metric(metricsText, 'traceo_auth_risk_decisions_total', { source });
    console.log(`\n## bench/auth/session — ${new Date().toISOString()}, load ${loadavg()[0]!.toFixed(1)}`);
    console.log(`risk deadline ${DEADLINE_MS} ms; stand-in risk service: KafkaResponder in the bench process answering allow\n`);
    console.log('| what | latency | note |');
    console.log('| --- | --- | --- |');
    console.log(
      `| request-reply floor (bench process to itself, sequential) | ${stats(floor)} | ${floorTimeouts} of ${FLOOR_REQUESTS} past 1 s |`,
    );
    const asked = metric(metricsAsking, 'traceo_auth_risk_request_seconds_count', { outcome: 'reply' });
    const askedSum = metric(metricsAsking, 'traceo_auth_risk_request_seconds_sum', { outcome: 'reply' });
    const within = (le: string) => metric(metricsAsking, 'traceo_auth_risk_request_seconds_bucket', { outcome: 'reply', le });
    console.log(
      `| service's own requests answered (histogram) | mean ${((askedSum / Math.max(asked, 1)) * 1000).toFixed(1)} ms; ≤10 ms ${within('0.01')}, ≤20 ms ${within('0.02')}, ≤50 ms ${within('0.05')} of ${asked} | timeouts ${metric(metricsAsking, 'traceo_auth_risk_request_seconds_count', { outcome: 'timeout' })} |`,
    );
    console.log(`| refresh grant, risk service answering | ${stats(asking)} | sequential, one chain |`);
    console.log(`| refresh grant, risk service silent (circuit open, local policy) | ${stats(local)} | difference = cost of asking |`);
    console.log(
      `| session-revoke command to refresh token inactive | ${stats(revokes)} | target ≤ 1000 ms: ${Math.max(...revokes) <= 1000 ? 'PASS' : 'MISS'} (max) |`,
    );
    console.log(
      `\ndecisions by source: risk-service ${byStage('risk-service')}, fallback-timeout ${byStage('fallback-timeout')}, fallback-circuit-open ${byStage('fallback-circuit-open')}, fallback-unavailable ${byStage('fallback-unavailable')}`,
    );
  } finally {
    await producer.disconnect();
    await responder.stop();
    await auth.stop();
  }
}

/** The account (introspection's `sub`) and session (the provider's store; `sid` is not issued) of a refresh token. */
async function sessionOf(
  config: oidc.Configuration,
  schema: string,
  refreshToken: string,
): Promise<{ sessionId: string; accountId: string }> {
  const accountId = String((await oidc.tokenIntrospection(config, refreshToken)).sub);
  const sessionId = await withClient(loadInfraEnv().databaseUrl, async (db) => {
    const result = await db.query<{ session_uid: string }>(
      `SELECT session_uid FROM "${schema}".oidc_models WHERE model = 'RefreshToken' AND id_hash = sha256(convert_to($1, 'UTF8'))`,
      [refreshToken],
    );
    return result.rows[0]!.session_uid;
  });
  return { sessionId, accountId };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
