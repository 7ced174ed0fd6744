import { Module } from '@nestjs/common';
import { FederatedIdentityRepository } from './federated-identity.repository';
import { FederationAudit } from './federation-audit';
import { FederationFlowsRepository } from './federation-flows.repository';
import { FederationHttpController } from './federation.http.controller';
import { FinishFederatedCallbackUseCase } from './finish-federated-callback.usecase';
import { StartFederatedSignInUseCase } from './start-federated-sign-in.usecase';
import { UpstreamIdps } from './upstream-idps';

/** Sign-in through upstream enterprise IdPs (OpenID Connect, openid-client as the relying party). */
@Module({
  controllers: [FederationHttpController],
  providers: [
    UpstreamIdps,
    FederationFlowsRepository,
    FederatedIdentityRepository,
    FederationAudit,
    StartFederatedSignInUseCase,
    FinishFederatedCallbackUseCase,
  ],
  exports: [UpstreamIdps, FederationFlowsRepository, StartFederatedSignInUseCase],
})
export class FederationModule {}
