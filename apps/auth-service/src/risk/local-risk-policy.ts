import type { RiskDecisionV1 } from '@traceo/contracts';
import type { SignInHistory } from '../sessions/session-records.repository';

export type RiskStage = 'sign-in' | 'refresh';

export interface LocalRiskInput {
  readonly stage: RiskStage;
  /** RFC 8176 methods used so far (`pwd`, `otp`, `fed`, `mfa`). */
  readonly amr: readonly string[];
  readonly country?: string | undefined;
  readonly deviceFingerprint?: string | undefined;
  /** The account's sessions of the last 90 days; only read at sign-in. */
  readonly history?: SignInHistory | undefined;
}

export interface LocalRiskDecision {
  readonly decision: RiskDecisionV1['decision'];
  readonly reasons: string[];
}

/**
 * The decision auth-service takes itself when the risk service does not answer in time, or when
 * TRACEO_AUTH_RISK_DECISIONS=local (docs/auth-risk.md). Deliberately small: it never denies (a
 * refusal needs evidence the risk service has and auth-service has not), and it asks for a second
 * factor only for the one strong signal it can see on its own — a sign-in from a country none of
 * the account's sessions of the last 90 days came from. A new device alone is recorded as a reason
 * but does not step up (it would make every new browser enroll TOTP). A refresh is allowed: the
 * token family was vetted at sign-in, and the risk service ends it with a session-revoke command.
 */
export function localRiskDecision(input: LocalRiskInput): LocalRiskDecision {
  if (input.stage === 'refresh') return { decision: 'allow', reasons: ['LOCAL.REFRESH'] };
  const reasons: string[] = [];
  const history = input.history;
  const multiFactor = input.amr.includes('otp') || input.amr.includes('mfa');
  if (!history || history.sessions === 0) return { decision: 'allow', reasons: ['LOCAL.FIRST_SIGN_IN'] };
  if (input.deviceFingerprint && !history.devices.includes(input.deviceFingerprint)) reasons.push('LOCAL.NEW_DEVICE');
  const newCountry = input.country !== undefined && history.countries.length > 0 && !history.countries.includes(input.country);
  if (newCountry) reasons.push('LOCAL.NEW_COUNTRY');
  if (newCountry && !multiFactor) return { decision: 'step-up', reasons };
  return { decision: 'allow', reasons: reasons.length > 0 ? reasons : ['LOCAL.FAMILIAR'] };
}
