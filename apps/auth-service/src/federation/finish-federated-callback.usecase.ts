import { Injectable } from '@nestjs/common';
import * as oidc from 'openid-client';
import { FederatedIdentityRepository } from './federated-identity.repository';
import { mapUpstreamRoles, upstreamAssertsMfa } from './federated-claims';
import { FederationAudit, type FederationAuditEntry } from './federation-audit';
import { FederationFlowsRepository } from './federation-flows.repository';
import { FederationError, type FederationErrorCode } from './federation.errors';
import { UpstreamIdps } from './upstream-idps';

export interface FederatedCallback {
  /** The callback's query string as received. */
  readonly query: URLSearchParams;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** Why a callback's `state` cannot be used. */
const UNUSABLE_STATE = {
  replayed: 'AUTH.FEDERATION_REPLAYED',
  expired: 'AUTH.FEDERATION_EXPIRED',
  unknown: 'AUTH.FEDERATION_STATE_INVALID',
} as const satisfies Record<string, FederationErrorCode>;

/**
 * The upstream's answer. The `state` must name a sign-in in progress, not yet answered and not
 * expired (consumed atomically: a replay finds it spent). openid-client then checks the response
 * (`iss` per RFC 9207 when the upstream announces it, `state`), redeems the code with the PKCE
 * verifier, and validates the ID token: signature against the upstream's JWKS, `iss`, `aud`, `exp`,
 * `iat`, `nonce`. The verified `iss` + `sub` is linked to a local account (provisioned just in time).
 * Returns the interaction to hand the result to; every outcome is audited.
 */
@Injectable()
export class FinishFederatedCallbackUseCase {
  constructor(
    private readonly idps: UpstreamIdps,
    private readonly flows: FederationFlowsRepository,
    private readonly identities: FederatedIdentityRepository,
    private readonly audit: FederationAudit,
  ) {}

  async execute(callback: FederatedCallback): Promise<{ interactionUid: string }> {
    const base: FederationAuditEntry = { ip: callback.ip, userAgent: callback.userAgent };
    const state = callback.query.get('state') ?? '';
    const consumed: Awaited<ReturnType<FederationFlowsRepository['consume']>> =
      state.length > 0 && state.length <= 512 ? await this.flows.consume(state) : { outcome: 'unknown' };
    const entry: FederationAuditEntry = consumed.flow
      ? { ...base, tenantId: consumed.flow.tenantId, idpId: consumed.flow.idpId, clientId: consumed.flow.clientId }
      : base;
    if (consumed.outcome !== 'consumed') return this.refuse(entry, UNUSABLE_STATE[consumed.outcome]);
    const { flow } = consumed;
    const idp = this.idps.find(flow.tenantId, flow.idpId);
    if (!idp) return this.refuse(entry, 'AUTH.FEDERATION_UNKNOWN_IDP');
    const upstreamError = callback.query.get('error');
    if (upstreamError)
      return this.refuse({ ...entry, details: { upstreamError: upstreamError.slice(0, 64) } }, 'AUTH.FEDERATION_UPSTREAM_ERROR');

    const configuration = await this.idps.configuration(idp).catch(async (error: unknown) => {
      if (error instanceof FederationError) await this.audit.failed(entry, error.code);
      throw error;
    });
    const currentUrl = new URL(this.idps.callbackUri);
    currentUrl.search = callback.query.toString();
    let claims: oidc.IDToken;
    try {
      const tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims()!;
    } catch (error) {
      const { code, reason } = classify(error);
      return this.refuse({ ...entry, details: { reason } }, code);
    }

    const { account, provisioned } = await this.identities.linkOrProvision({
      tenantId: idp.tenant_id,
      idpId: idp.id,
      issuer: claims.iss,
      subject: claims.sub,
      roles: mapUpstreamRoles(idp, claims),
    });
    const done = { ...entry, accountId: account.accountId };
    if (account.disabled) return this.refuse(done, 'AUTH.ACCOUNT_DISABLED');
    const upstreamMfa = upstreamAssertsMfa(idp, claims);
    await this.flows.verified(state, account.accountId, upstreamMfa);
    await this.audit.succeeded({ ...done, details: { provisioned, upstreamMfa, ...(provisioned ? { roles: account.roles } : {}) } });
    return { interactionUid: flow.interactionUid };
  }

  private async refuse(entry: FederationAuditEntry, code: FederationErrorCode): Promise<never> {
    await this.audit.failed(entry, code);
    throw new FederationError(code);
  }
}

/**
 * What went wrong with the upstream's answer, for the audit record: the library's code and the message
 * of its specific check (e.g. `unexpected ID Token "nonce" claim value`); these never contain a token.
 */
function classify(error: unknown): { code: FederationErrorCode; reason: string } {
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError)
    return { code: 'AUTH.FEDERATION_UPSTREAM_ERROR', reason: error.error };
  const code = (error as { code?: unknown } | undefined)?.code;
  // openid-client's own checks (ClientError) and oauth4webapi's/jose's coded validation errors.
  if (error instanceof oidc.ClientError || (error instanceof Error && typeof code === 'string' && /^(OAUTH_|ERR_JW)/.test(code))) {
    const detail = error.cause instanceof Error ? error.cause.message : error.message;
    return { code: 'AUTH.FEDERATION_TOKEN_INVALID', reason: `${typeof code === 'string' ? code : 'invalid'}: ${detail}`.slice(0, 300) };
  }
  return { code: 'AUTH.FEDERATION_UPSTREAM_UNAVAILABLE', reason: error instanceof Error ? error.name : 'unknown' };
}
