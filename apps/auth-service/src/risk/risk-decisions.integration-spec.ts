/* eslint-disable @typescript-eslint/no-explicit-any -- tests explore JSON response bodies loosely */
import { randomBytes } from 'node:crypto';
import { createEvent, EventTypes, type RiskDecisionRequestV1, type RiskDecisionV1 } from '@traceo/contracts';
import { KafkaResponder } from '@traceo/messaging';
import { EventPublisher } from '@traceo/service-kit';
import { waitFor } from '@traceo/testing';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { TestBrowser } from '../../test/browser';
import { apiCall, clientCredentialsToken } from '../../test/api';
import { exchangeCode, relyingParty, signIn, type TestUser, tokenRequest } from '../../test/flows';

const SECRET = 'risk-web-secret-000000000000000000000000000';
const ANALYST_SECRET = 'risk-analyst-secret-00000000000000000000000';
const REDIRECT = 'https://app.traceo.test/callback';
const DEADLINE_MS = 1500;

type Answer = RiskDecisionV1['decision'] | 'silent';

/**
 * Risk decisions before token issuance and sessions with their context, on the running auth-service
 * (real PostgreSQL, Kafka, SoftHSM2). A KafkaResponder on the real broker plays the risk service,
 * answering this test's tenant only, with the decision the test sets per account.
 */
describe('risk decisions at sign-in and refresh; sessions with device context', () => {
  let auth: AuthTestService;
  let config: oidc.Configuration;
  let responder: KafkaResponder<'traceo.risk.decision-request.v1', 'traceo.risk.decision.v1'>;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const clientId = `web-${tenant}`;
  const analystId = `analyst-${tenant}`;
  /** What the stand-in risk service answers, per account; absent: allow. */
  const answers = new Map<string, Answer>();
  const requests: RiskDecisionRequestV1[] = [];
  const accounts: Record<string, string> = {};
  let analystToken: string;

  const user = (name: string): TestUser => ({ username: name, password: `${name} has a long passphrase` });
  const browserFrom = (country: string) => new TestBrowser({ 'x-client-country': country, 'user-agent': `RiskTest/1.0 (${country})` });

  /** A sign-in with the password page even when the browser already has a session (`prompt=login`). */
  const login = (who: TestUser, browser: TestBrowser) =>
    signIn(config, auth.origin, who, {
      redirectUri: REDIRECT,
      browser,
      scope: 'openid api offline_access',
      extra: { prompt: 'login consent' },
    });
  const exchange = (signedIn: Awaited<ReturnType<typeof login>>) => exchangeCode(config, signedIn);
  const refresh = (refreshToken: string) =>
    tokenRequest(
      config.serverMetadata().token_endpoint!,
      { id: clientId, secret: SECRET },
      { grant_type: 'refresh_token', refresh_token: refreshToken },
    );
  /** The HTTP API as the security analyst. */
  const api = (method: string, path: string, body?: unknown) => apiCall(auth.origin, method, path, analystToken, body);
  const sessionsOf = async (accountId: string) =>
    (await api('GET', `/v1/auth/tenants/${tenant}/accounts/${accountId}/sessions`)).body['sessions'] as Record<string, any>[];
  const decisionAudit = (accountId: string, stage: string, decision: string) =>
    auth.event(
      'traceo.audit.record.v1',
      (e) =>
        e['tenantid'] === tenant &&
        e['data'].action === 'auth.risk-decision' &&
        e['data'].subjectId === accountId &&
        e['data'].details.stage === stage &&
        e['data'].details.decision === decision,
    );

  beforeAll(async () => {
    auth = await startAuthTestService(
      'risk',
      [
        {
          client_id: clientId,
          tenant_id: tenant,
          client_secret: SECRET,
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code', 'refresh_token'],
        },
        {
          client_id: analystId,
          tenant_id: tenant,
          client_secret: ANALYST_SECRET,
          grant_types: ['client_credentials'],
          roles: ['security-analyst'],
        },
      ],
      () => ({
        TRACEO_AUTH_RISK_DEADLINE_MS: String(DEADLINE_MS),
        TRACEO_AUTH_COUNTRY_HEADER: 'x-client-country',
        TRACEO_TRUSTED_PROXIES: '127.0.0.1',
      }),
    );
    for (const name of ['ana', 'ben', 'cid', 'dee', 'eve', 'fay', 'gus'])
      accounts[name] = await auth.createAccount(tenant, name, user(name).password, ['end-user']);
    responder = new KafkaResponder({
      kafka: auth.service.runtime.kafka,
      requestType: EventTypes.riskDecisionRequest,
      groupId: `risk-test-responder-${tenant}`,
      answer: (request) => {
        if (request.tenantid !== tenant) return Promise.resolve(undefined);
        requests.push(request.data);
        const answer = answers.get(request.data.accountId) ?? 'allow';
        if (answer === 'silent') return Promise.resolve(undefined);
        const reply = createEvent({
          type: EventTypes.riskDecision,
          source: 'risk-test',
          tenantid: tenant,
          data: {
            requestId: request.id,
            decidedAt: new Date().toISOString(),
            decision: answer,
            score: answer === 'allow' ? 5 : 80,
            reasons: [`TEST.${answer}`],
          },
        });
        return Promise.resolve({ topic: request.data.replyTo as 'traceo.risk.decision.v1', reply });
      },
    });
    await responder.start();
    config = await relyingParty(auth.issuer, clientId, SECRET);
    analystToken = await clientCredentialsToken(config.serverMetadata().token_endpoint!, { id: analystId, secret: ANALYST_SECRET });
  });

  afterAll(async () => {
    await responder?.stop();
    await auth?.close();
  });

  it('asks the risk service at sign-in with the device context, follows its allow, and records the session', async () => {
    const browser = browserFrom('DE');
    const tokens = await exchange(await login(user('ana'), browser));
    expect(tokens.access_token).toEqual(expect.any(String));
    const asked = requests.find((r) => r.accountId === accounts['ana'] && r.stage === 'sign-in');
    expect(asked).toMatchObject({
      clientId,
      roles: ['end-user'],
      amr: ['pwd'],
      ip: '127.0.0.1',
      country: 'DE',
      userAgent: 'RiskTest/1.0 (DE)',
      deviceFingerprint: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
      replyTo: 'traceo.risk.decision.v1',
    });
    expect(Date.parse(asked!.deadline) - Date.parse(asked!.occurredAt)).toBe(DEADLINE_MS);
    // The fingerprint is a keyed hash of the device cookie, not the cookie.
    expect(browser.cookie('traceo_device')).toBeDefined();
    expect(browser.cookie('traceo_device')).not.toContain(asked!.deviceFingerprint);
    const audit = await decisionAudit(accounts['ana']!, 'sign-in', 'allow');
    expect(audit['data']).toMatchObject({
      status: 'success',
      riskScore: 5,
      country: 'DE',
      details: { source: 'risk-service', reasons: ['TEST.allow'] },
    });
    const session = (await sessionsOf(accounts['ana']!))[0]!;
    expect(session).toMatchObject({
      clientId,
      acr: 'urn:traceo:acr:pwd',
      amr: ['pwd'],
      ip: '127.0.0.1',
      country: 'DE',
      userAgent: 'RiskTest/1.0 (DE)',
      deviceFingerprint: asked!.deviceFingerprint,
      endedAt: null,
    });
    // The same browser keeps its fingerprint on the next sign-in.
    await login(user('ana'), browser);
    const again = requests.filter((r) => r.accountId === accounts['ana'] && r.stage === 'sign-in');
    expect(again).toHaveLength(2);
    expect(again[1]!.deviceFingerprint).toBe(asked!.deviceFingerprint);
  });

  it('asks again at every refresh, with the session; deny revokes the token family', async () => {
    const tokens = await exchange(await login(user('ben'), browserFrom('FR')));
    const session = (await sessionsOf(accounts['ben']!))[0]!;
    const first = await refresh(tokens.refresh_token!);
    expect(first.status).toBe(200);
    expect(requests.filter((r) => r.accountId === accounts['ben'] && r.stage === 'refresh').at(-1)).toMatchObject({
      sessionId: session.sessionId,
      amr: ['pwd'],
    });
    answers.set(accounts['ben']!, 'deny');
    const denied = await refresh(first.body['refresh_token'] as string);
    expect(denied).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } });
    const audit = await decisionAudit(accounts['ben']!, 'refresh', 'deny');
    expect(audit['data']).toMatchObject({ status: 'denied', resultCode: 'AUTH.RISK_DENY', sessionId: session.sessionId });
    // The family is gone: allowed again, the same refresh token still fails.
    answers.set(accounts['ben']!, 'allow');
    expect(await refresh(first.body['refresh_token'] as string)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('refuses a refresh the risk service wants stepped up, without revoking the family', async () => {
    const tokens = await exchange(await login(user('cid'), browserFrom('FR')));
    answers.set(accounts['cid']!, 'step-up');
    expect(await refresh(tokens.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await decisionAudit(accounts['cid']!, 'refresh', 'step-up');
    answers.set(accounts['cid']!, 'allow');
    expect((await refresh(tokens.refresh_token!)).status).toBe(200);
  });

  it('asks an end user without a second factor to enroll one when the risk service says step-up at sign-in', async () => {
    const dee = user('dee');
    answers.set(accounts['dee']!, 'step-up');
    const tokens = await exchange(await login(dee, browserFrom('FR')));
    expect(dee.totp?.secret).toBeDefined();
    expect(tokens.claims()).toMatchObject({ acr: 'urn:traceo:acr:mfa', amr: ['pwd', 'otp'] });
    await decisionAudit(accounts['dee']!, 'sign-in', 'step-up');
  });

  it('sends a denied sign-in back to the client as access_denied, with no session', async () => {
    answers.set(accounts['eve']!, 'deny');
    const signedIn = await login(user('eve'), browserFrom('FR'));
    expect(signedIn.callback.searchParams.get('error')).toBe('access_denied');
    expect(signedIn.callback.searchParams.get('code')).toBeNull();
    const audit = await decisionAudit(accounts['eve']!, 'sign-in', 'deny');
    expect(audit['data']).toMatchObject({ status: 'denied', resultCode: 'AUTH.RISK_DENY' });
    expect(await sessionsOf(accounts['eve']!)).toEqual([]);
  });

  it('ends one session over HTTP and another by a Kafka command, leaving the account’s other sessions', async () => {
    const fay = user('fay');
    const inBerlin = await exchange(await login(fay, browserFrom('DE')));
    const inParis = await exchange(await login(fay, browserFrom('FR')));
    const onPhone = await exchange(await login(fay, browserFrom('FR')));
    const sessions = await sessionsOf(accounts['fay']!);
    expect(sessions).toHaveLength(3);
    const byCountry = (country: string) => sessions.filter((s) => s.country === country);
    const berlin = byCountry('DE')[0]!;
    const revoked = await api('POST', `/v1/auth/tenants/${tenant}/accounts/${accounts['fay']}/sessions/${berlin.sessionId}/revoke`, {
      reason: 'lost laptop',
    });
    expect(revoked).toMatchObject({ status: 200, body: { endedSessions: [berlin.sessionId] } });
    expect(revoked.body.revokedEntries).toBeGreaterThan(0);
    expect((await refresh(inBerlin.refresh_token!)).status).toBe(400);
    const parisRefreshed = await refresh(inParis.refresh_token!);
    expect(parisRefreshed.status).toBe(200);
    // The Kafka command (as the risk service would send it) for the second session.
    const idOf = async (token: string) =>
      (
        await auth.service.runtime.dataSource.query<{ session_uid: string }[]>(
          `SELECT session_uid FROM oidc_models WHERE model = 'RefreshToken' AND id_hash = sha256(convert_to($1, 'UTF8'))`,
          [token],
        )
      )[0]!.session_uid;
    const phoneSession = await idOf(onPhone.refresh_token!);
    const publisher = auth.service.app.get(EventPublisher);
    await publisher.publish([
      publisher.event('traceo.auth.session-revoke.v1', tenant, {
        occurredAt: new Date().toISOString(),
        accountId: accounts['fay']!,
        sessionId: phoneSession,
        reason: 'risk: impossible travel',
        requestedBy: { type: 'service', id: 'risk-service' },
      }),
    ]);
    await waitFor(async () => !(await oidc.tokenIntrospection(config, onPhone.refresh_token!)).active, 'phone session revoked', 15_000, 50);
    expect((await refresh(parisRefreshed.body['refresh_token'] as string)).status).toBe(200);
    const after = await sessionsOf(accounts['fay']!);
    expect(
      after
        .filter((s) => s.endedAt !== null)
        .map((s) => String(s['sessionId']))
        .sort(),
    ).toEqual([berlin.sessionId, phoneSession].sort());
    expect(after.find((s) => s.sessionId === phoneSession)).toMatchObject({ endReason: 'risk: impossible travel' });
    const unknown = await api('POST', `/v1/auth/tenants/${tenant}/accounts/${accounts['fay']}/sessions/no-such-session/revoke`, {
      reason: 'x',
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'AUTH.SESSION_NOT_FOUND' } });
    expect(unknown.type).toContain('application/problem+json');
    const bad = await api('POST', `/v1/auth/tenants/${tenant}/accounts/${accounts['fay']}/sessions/${'x'.repeat(200)}/revoke`, {
      reason: 'x',
    });
    expect(bad.status).toBe(400);
  });

  // Last: unanswered requests count towards the circuit breaker (five in a row open it for 30 s).
  it('falls back to the local policy at the deadline: a new country for the account means a second factor', async () => {
    const gus = user('gus');
    const laptop = browserFrom('DE');
    await exchange(await login(gus, laptop)); // answered by the risk service: gus has signed in from DE on this laptop
    answers.set(accounts['gus']!, 'silent');
    const started = Date.now();
    await exchange(await login(gus, laptop));
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEADLINE_MS);
    // Familiar country and device: the local policy allows without a second factor.
    const fallback = await auth.event(
      'traceo.audit.record.v1',
      (e) =>
        e['data'].action === 'auth.risk-decision' &&
        e['data'].subjectId === accounts['gus'] &&
        e['data'].details.source === 'fallback-timeout',
    );
    expect(fallback['data'].details).toMatchObject({ stage: 'sign-in', decision: 'allow', reasons: ['LOCAL.FAMILIAR'] });
    expect(fallback['data'].details.elapsedMs).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect(gus.totp).toBeUndefined();
    // From a country none of gus's sessions came from: the local policy steps up (enrollment, as gus has no factor yet).
    const tokens = await exchange(await login(gus, browserFrom('BR')));
    expect(gus.totp?.secret).toBeDefined();
    expect(tokens.claims()).toMatchObject({ acr: 'urn:traceo:acr:mfa' });
    const stepUp = await decisionAudit(accounts['gus']!, 'sign-in', 'step-up');
    expect(stepUp['data'].details).toMatchObject({ source: 'fallback-timeout', reasons: ['LOCAL.NEW_DEVICE', 'LOCAL.NEW_COUNTRY'] });
  });
});
