import { Injectable } from '@nestjs/common';
import * as oidc from 'openid-client';
import { FederationAudit } from './federation-audit';
import { FederationFlowsRepository } from './federation-flows.repository';
import { FederationError } from './federation.errors';
import { UpstreamIdps } from './upstream-idps';

export interface StartFederatedSignIn {
  readonly interactionUid: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly idpId: string;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/**
 * Sends the browser to the upstream IdP: an authorization-code request with PKCE S256, a fresh
 * `state` and `nonce`, remembered server-side for five minutes and bound to this interaction.
 * Only IdPs configured for the client's tenant can be used.
 */
@Injectable()
export class StartFederatedSignInUseCase {
  constructor(
    private readonly idps: UpstreamIdps,
    private readonly flows: FederationFlowsRepository,
    private readonly audit: FederationAudit,
  ) {}

  async execute(input: StartFederatedSignIn): Promise<URL> {
    const entry = { tenantId: input.tenantId, clientId: input.clientId, ip: input.ip, userAgent: input.userAgent };
    const idp = this.idps.find(input.tenantId, input.idpId);
    if (!idp) {
      await this.audit.failed({ ...entry, details: { requestedIdp: input.idpId.slice(0, 64) } }, 'AUTH.FEDERATION_UNKNOWN_IDP');
      throw new FederationError('AUTH.FEDERATION_UNKNOWN_IDP');
    }
    const configuration = await this.idps.configuration(idp).catch(async (error: unknown) => {
      if (error instanceof FederationError) await this.audit.failed({ ...entry, idpId: idp.id }, error.code);
      throw error;
    });
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    await this.flows.save(state, {
      interactionUid: input.interactionUid,
      tenantId: idp.tenant_id,
      idpId: idp.id,
      clientId: input.clientId,
      codeVerifier,
      nonce,
    });
    void this.flows.purgeExpired().catch(() => undefined);
    await this.audit.started({ ...entry, idpId: idp.id });
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.idps.callbackUri,
      response_type: 'code',
      scope: idp.scope,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
  }
}
