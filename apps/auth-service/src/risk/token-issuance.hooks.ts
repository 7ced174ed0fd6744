import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { DataSource } from 'typeorm';
import { revokeGrantFamily } from '../oidc/pg-oidc.adapter';
import type { SessionRecordsRepository } from '../sessions/session-records.repository';
import type { SignInContext, SignInContextReader } from '../sessions/sign-in-context';
import type { RiskDecisions } from './risk-decisions';

/** What the sign-in pages hand to oidc-provider with the login result (`InteractionResults.traceo`). */
export interface SignInRecord {
  readonly tenantId: string;
  readonly clientId: string;
  readonly context: SignInContext;
}

/** The provider's hooks around token issuance (src/oidc/provider-configuration.ts calls them). */
export interface TokenIssuanceHooks {
  /** Before a refresh token is rotated and new tokens issued; throws an OIDC error to refuse. */
  beforeRefresh(ctx: KoaContextWithOIDC): Promise<void>;
  /** A sign-in finished into the browser session `sessionId`. */
  signedIn(sessionId: string, login: { accountId: string; acr?: string; amr?: string[] }, record: SignInRecord): Promise<void>;
  /** The browser session `sessionId` was ended by RP-initiated logout. */
  signedOut(sessionId: string): Promise<void>;
}

/**
 * Refresh: the risk decision (docs/auth-risk.md). `deny` revokes the token family and answers
 * `invalid_grant`; `step-up` answers `invalid_grant` without revoking (the client sends the user
 * through authorization again, with `acr_values` for MFA); `allow` goes on. Sign-in: the session's
 * context is recorded.
 */
export function tokenIssuanceHooks(deps: {
  risk: RiskDecisions;
  sessions: SessionRecordsRepository;
  contexts: SignInContextReader;
  dataSource: DataSource;
}): TokenIssuanceHooks {
  return {
    async beforeRefresh(ctx) {
      const token = ctx.oidc.entities.RefreshToken;
      const account = ctx.oidc.account;
      if (!token?.accountId || !account) return;
      const tenantId = account['tenantId'];
      if (typeof tenantId !== 'string') throw new errors.InvalidGrant('account has no tenant');
      const verdict = await deps.risk.decide({
        tenantId,
        stage: 'refresh',
        accountId: token.accountId,
        clientId: token.clientId ?? ctx.oidc.client?.clientId ?? 'unknown',
        roles: Array.isArray(account['roles']) ? (account['roles'] as string[]) : [],
        amr: Array.isArray(token.amr) ? token.amr : [],
        sessionId: token.sessionUid,
        context: deps.contexts.read(ctx.req),
      });
      if (verdict.decision === 'allow') return;
      if (verdict.decision === 'deny') {
        if (token.grantId) await revokeGrantFamily(deps.dataSource, token.grantId);
        throw new errors.InvalidGrant('refused by the risk policy');
      }
      throw new errors.InvalidGrant('step-up authentication required: sign in again');
    },
    async signedIn(sessionId, login, record) {
      await deps.sessions.record({
        sessionId,
        tenantId: record.tenantId,
        accountId: login.accountId,
        clientId: record.clientId,
        acr: login.acr ?? 'unknown',
        amr: login.amr ?? [],
        ...record.context,
      });
    },
    async signedOut(sessionId) {
      await deps.sessions.endById(deps.dataSource, sessionId, 'signed out');
    },
  };
}
