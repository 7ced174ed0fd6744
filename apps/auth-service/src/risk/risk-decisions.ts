import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createEvent, EventTypes, type RiskDecisionV1 } from '@traceo/contracts';
import { KafkaRequester } from '@traceo/messaging';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { Counter, Histogram } from 'prom-client';
import type { AuthConfig } from '../auth-service.config';
import { SessionRecordsRepository } from '../sessions/session-records.repository';
import type { SignInContext } from '../sessions/sign-in-context';
import { CircuitBreaker } from './circuit-breaker';
import { localRiskDecision, type RiskStage } from './local-risk-policy';

/**
 * Who decided: the risk service, or the local policy — by configuration (`local`), or as the
 * fallback because the risk service did not answer before the deadline (`fallback-timeout`), Kafka
 * could not take the request (`fallback-unavailable`), or it had stopped answering recently
 * (`fallback-circuit-open`).
 */
export type RiskDecisionSource = 'risk-service' | 'local' | 'fallback-timeout' | 'fallback-unavailable' | 'fallback-circuit-open';

export interface RiskQuestion {
  readonly tenantId: string;
  readonly stage: RiskStage;
  readonly accountId: string;
  readonly clientId: string;
  readonly roles: readonly string[];
  readonly amr: readonly string[];
  readonly sessionId?: string | undefined;
  readonly context: SignInContext;
}

export interface RiskVerdict {
  readonly decision: RiskDecisionV1['decision'];
  readonly reasons: readonly string[];
  /** Only the risk service scores. */
  readonly score?: number;
  readonly source: RiskDecisionSource;
  readonly elapsedMs: number;
}

/** Consecutive unanswered requests after which the local policy decides at once for a while. */
const CIRCUIT_FAILURES = 5;
const CIRCUIT_OPEN_MS = 30_000;

/**
 * Asks the risk service whether to issue tokens (at sign-in and at every refresh) over Kafka
 * request-reply, with a deadline (TRACEO_AUTH_RISK_DEADLINE_MS) and the local policy as the
 * fallback (docs/auth-risk.md). After five unanswered requests in a row it stops asking for 30
 * seconds, then lets one request through to see whether the risk service is back, so a missing risk
 * service costs one deadline per 30 seconds rather than one per sign-in. Every sign-in decision, and
 * every refresh decision other than `allow`, is an audit record.
 */
@Injectable()
export class RiskDecisions implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly requester: KafkaRequester<'traceo.risk.decision.v1'> | undefined;
  private readonly circuit = new CircuitBreaker(CIRCUIT_FAILURES, CIRCUIT_OPEN_MS);
  private readonly deadlineMs: number;
  private readonly decisions: Counter<'stage' | 'decision' | 'source'>;
  private readonly waited: Histogram<'outcome'>;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuthConfig>,
    private readonly sessions: SessionRecordsRepository,
    private readonly publisher: EventPublisher,
  ) {
    const { config, kafka, logger, metrics } = runtime;
    this.deadlineMs = config.TRACEO_AUTH_RISK_DEADLINE_MS;
    if (config.TRACEO_AUTH_RISK_DECISIONS === 'kafka')
      this.requester = new KafkaRequester({
        kafka,
        replyType: EventTypes.riskDecision,
        correlationOf: (reply) => reply.data.requestId,
        groupPrefix: `${runtime.name}.risk-replies`,
        logger,
      });
    this.decisions = new Counter({
      name: 'traceo_auth_risk_decisions_total',
      help: 'Risk decisions before issuing tokens, by stage, decision and who decided (risk-service, local, fallback-*)',
      labelNames: ['stage', 'decision', 'source'],
      registers: [metrics],
    });
    this.waited = new Histogram({
      name: 'traceo_auth_risk_request_seconds',
      help: 'Time spent asking the risk service, by outcome (reply, timeout, unavailable)',
      labelNames: ['outcome'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [metrics],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.requester?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.requester?.stop();
  }

  async decide(question: RiskQuestion): Promise<RiskVerdict> {
    const verdict = await this.ask(question);
    this.decisions.inc({ stage: question.stage, decision: verdict.decision, source: verdict.source });
    if (question.stage === 'sign-in' || verdict.decision !== 'allow') await this.audit(question, verdict);
    return verdict;
  }

  private async ask(question: RiskQuestion): Promise<RiskVerdict> {
    const started = performance.now();
    if (!this.requester) return this.local(question, 'local', started);
    if (!this.circuit.allowsRequest()) return this.local(question, 'fallback-circuit-open', started);
    const now = Date.now();
    const request = createEvent({
      type: EventTypes.riskDecisionRequest,
      source: `traceo/${this.runtime.name}`,
      tenantid: question.tenantId,
      data: {
        occurredAt: new Date(now).toISOString(),
        deadline: new Date(now + this.deadlineMs).toISOString(),
        replyTo: EventTypes.riskDecision,
        stage: question.stage,
        accountId: question.accountId,
        clientId: question.clientId,
        roles: question.roles.slice(0, 16),
        amr: question.amr.slice(0, 8),
        ...(question.sessionId ? { sessionId: question.sessionId } : {}),
        ...question.context, // ip, country, userAgent, deviceFingerprint: the contract's names
      },
    });
    const outcome = await this.requester.request(EventTypes.riskDecisionRequest, request, question.accountId, this.deadlineMs);
    this.waited.observe({ outcome: outcome.outcome }, outcome.elapsedMs / 1000);
    if (outcome.outcome === 'reply') {
      this.circuit.succeeded();
      const { decision, reasons, score } = outcome.reply.data;
      return { decision, reasons, score, source: 'risk-service', elapsedMs: performance.now() - started };
    }
    this.circuit.failed();
    return this.local(question, outcome.outcome === 'timeout' ? 'fallback-timeout' : 'fallback-unavailable', started);
  }

  private async local(question: RiskQuestion, source: RiskDecisionSource, started: number): Promise<RiskVerdict> {
    const history = question.stage === 'sign-in' ? await this.sessions.history(question.accountId) : undefined;
    const { decision, reasons } = localRiskDecision({
      stage: question.stage,
      amr: question.amr,
      country: question.context.country,
      deviceFingerprint: question.context.deviceFingerprint,
      history,
    });
    return { decision, reasons, source, elapsedMs: performance.now() - started };
  }

  private async audit(question: RiskQuestion, verdict: RiskVerdict): Promise<void> {
    await this.publisher.audit(
      {
        actor: { type: 'user', id: question.accountId },
        action: 'auth.risk-decision',
        resource: { type: 'oauth-client', id: question.clientId },
        subjectId: question.accountId,
        status: verdict.decision === 'deny' ? 'denied' : 'success',
        resultCode: `AUTH.RISK_${verdict.decision.toUpperCase().replace('-', '_')}`,
        ...(question.sessionId ? { sessionId: question.sessionId } : {}),
        ...question.context, // the audit record's names too
        ...(verdict.score !== undefined ? { riskScore: verdict.score } : {}),
        details: {
          stage: question.stage,
          decision: verdict.decision,
          source: verdict.source,
          reasons: [...verdict.reasons],
          elapsedMs: Math.round(verdict.elapsedMs * 10) / 10,
        },
      },
      { tenantId: question.tenantId },
    );
  }
}
