import { Module } from '@nestjs/common';
import { AccountRepository } from '../accounts/account.repository';
import { RegistrationHttpController } from '../admin/registration.http.controller';
import { RegistrationUseCase } from '../admin/registration.usecase';
import { SignInUseCase } from '../accounts/sign-in.usecase';
import { ClientRepository } from '../clients/client.repository';
import { FederationModule } from '../federation/federation.module';
import { RiskModule } from '../risk/risk.module';
import { SessionRecordsModule } from '../sessions/session-records.module';
import { InteractionsHttpController } from '../interactions/interactions.http.controller';
import { SecondFactorUseCase } from '../second-factor/second-factor.usecase';
import { RecoveryCodesRepository } from '../second-factor/recovery-codes.repository';
import { TotpFactorsRepository } from '../second-factor/totp-factors.repository';
import { OidcHttpController } from './oidc.http.controller';
import { OIDC_PROVIDERS, OidcMaintenance } from './oidc.providers';
import { ProviderEventsListener } from './provider-events.listener';
import { SigningKeyRotation } from './signing-key-rotation';

/** The OpenID provider (mounted at /oidc), its sign-in and consent pages, and its storage. */
@Module({
  imports: [FederationModule, RiskModule, SessionRecordsModule],
  controllers: [OidcHttpController, InteractionsHttpController, RegistrationHttpController],
  providers: [
    ...OIDC_PROVIDERS,
    RegistrationUseCase,
    ClientRepository,
    AccountRepository,
    SignInUseCase,
    SecondFactorUseCase,
    TotpFactorsRepository,
    RecoveryCodesRepository,
    ProviderEventsListener,
    OidcMaintenance,
    SigningKeyRotation,
  ],
  exports: [ClientRepository, AccountRepository],
})
export class OidcModule {}
