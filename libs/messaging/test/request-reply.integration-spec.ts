import { randomBytes, randomUUID } from 'node:crypto';
import { createEvent, EventTypes, type TypedEvent } from '@traceo/contracts';
import { loadInfraEnv } from '@traceo/testing';
import type { Kafka } from 'kafkajs';
import { createKafka, ensureTopics, KafkaRequester, KafkaResponder } from '../src';

/** Request-reply over the real broker with the risk-decision contracts (the responder plays the risk service). */
describe('Kafka request-reply', () => {
  const env = loadInfraEnv();
  const run = randomBytes(6).toString('hex');
  let kafka: Kafka;
  let requester: KafkaRequester<'traceo.risk.decision.v1'>;
  let responder: KafkaResponder<'traceo.risk.decision-request.v1', 'traceo.risk.decision.v1'>;
  /** Accounts the test responder must not answer (to provoke a timeout). */
  const silentFor = new Set<string>();

  const request = (accountId: string, deadlineMs: number): TypedEvent<'traceo.risk.decision-request.v1'> =>
    createEvent({
      type: EventTypes.riskDecisionRequest,
      source: 'request-reply-test',
      tenantid: `t-${run}`,
      data: {
        occurredAt: new Date().toISOString(),
        deadline: new Date(Date.now() + deadlineMs).toISOString(),
        replyTo: EventTypes.riskDecision,
        stage: 'sign-in',
        accountId,
        clientId: 'web',
        roles: ['end-user'],
        amr: ['pwd'],
        ip: '203.0.113.7',
      },
    });

  beforeAll(async () => {
    kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'request-reply-test' });
    await ensureTopics(kafka);
    responder = new KafkaResponder({
      kafka,
      requestType: EventTypes.riskDecisionRequest,
      groupId: `it-risk-responder-${run}`,
      answer: (req) => {
        if (req.tenantid !== `t-${run}` || silentFor.has(req.data.accountId)) return Promise.resolve(undefined);
        const reply = createEvent({
          type: EventTypes.riskDecision,
          source: 'request-reply-test',
          tenantid: req.tenantid,
          data: {
            requestId: req.id,
            decidedAt: new Date().toISOString(),
            decision: req.data.ip === '203.0.113.7' ? 'step-up' : 'allow',
            score: 61,
            reasons: ['TEST.IP_LISTED'],
          },
        });
        return Promise.resolve({ topic: EventTypes.riskDecision, reply });
      },
    });
    requester = new KafkaRequester({
      kafka,
      replyType: EventTypes.riskDecision,
      correlationOf: (reply) => reply.data.requestId,
      groupPrefix: `it-risk-replies-${run}`,
    });
    expect(requester.ready).toBe(false);
    await Promise.all([responder.start(), requester.start()]);
  });

  afterAll(async () => {
    await requester?.stop();
    await responder?.stop();
  });

  it('answers a request with the reply that carries its id', async () => {
    const sent = request(randomUUID(), 5_000);
    const outcome = await requester.request(EventTypes.riskDecisionRequest, sent, sent.data.accountId, 5_000);
    expect(outcome.outcome).toBe('reply');
    if (outcome.outcome !== 'reply') return;
    expect(outcome.reply.data).toMatchObject({ requestId: sent.id, decision: 'step-up', score: 61, reasons: ['TEST.IP_LISTED'] });
  });

  it('matches concurrent requests to their own replies', async () => {
    const sent = Array.from({ length: 20 }, () => request(randomUUID(), 5_000));
    const outcomes = await Promise.all(
      sent.map((event) => requester.request(EventTypes.riskDecisionRequest, event, event.data.accountId, 5_000)),
    );
    expect(outcomes.map((outcome) => (outcome.outcome === 'reply' ? outcome.reply.data.requestId : outcome.outcome))).toEqual(
      sent.map((event) => event.id),
    );
  });

  it('resolves timeout at the deadline when nobody answers', async () => {
    const accountId = randomUUID();
    silentFor.add(accountId);
    const outcome = await requester.request(EventTypes.riskDecisionRequest, request(accountId, 300), accountId, 300);
    expect(outcome.outcome).toBe('timeout');
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(299);
  });

  it('is unavailable at once, without waiting, when not started', async () => {
    const idle = new KafkaRequester({
      kafka,
      replyType: EventTypes.riskDecision,
      correlationOf: (reply) => reply.data.requestId,
      groupPrefix: `it-idle-${run}`,
    });
    const outcome = await idle.request(EventTypes.riskDecisionRequest, request(randomUUID(), 5_000), 'k', 5_000);
    expect(outcome).toMatchObject({ outcome: 'unavailable', reason: 'not connected' });
    expect(outcome.elapsedMs).toBeLessThan(5_000);
  });
});
