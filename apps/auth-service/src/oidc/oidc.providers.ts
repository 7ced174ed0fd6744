import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider as NestProvider } from '@nestjs/common';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from '@traceo/hsm';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { AccountRepository } from '../accounts/account.repository';
import type { AuthConfig } from '../auth-service.config';
import { ClientRepository } from '../clients/client.repository';
import { affectedRows } from '../database/affected-rows';
import { OidcProviderHolder } from './oidc-provider.holder';
import { purgeExpiredOidcModels } from './pg-oidc.adapter';
import { createProvider } from './provider-configuration';
import { loadProviderKeys, type ProviderKeys } from './provider-keys';
import { RiskDecisions } from '../risk/risk-decisions';
import { tokenIssuanceHooks } from '../risk/token-issuance.hooks';
import { SessionRecordsRepository } from '../sessions/session-records.repository';
import { SignInContextReader } from '../sessions/sign-in-context';
import { ClientAddress } from '../interactions/client-address';

export const PROVIDER_KEYS = Symbol('PROVIDER_KEYS');

export const OIDC_PROVIDERS: NestProvider[] = [
  {
    provide: PROVIDER_KEYS,
    inject: [SERVICE_RUNTIME, KEY_ENCRYPTION_KEY],
    useFactory: ({ dataSource, config }: ServiceRuntime<AuthConfig>, kek: KeyEncryptionKey): Promise<ProviderKeys> =>
      loadProviderKeys(dataSource, kek, config.TRACEO_AUTH_SIGNING_KEY_MAX_AGE_DAYS),
  },
  {
    provide: ClientAddress,
    inject: [SERVICE_RUNTIME],
    useFactory: ({ config }: ServiceRuntime<AuthConfig>) => new ClientAddress(config.TRACEO_TRUSTED_PROXIES),
  },
  {
    provide: SignInContextReader,
    inject: [SERVICE_RUNTIME, PROVIDER_KEYS, ClientAddress],
    useFactory: ({ config }: ServiceRuntime<AuthConfig>, keys: ProviderKeys, address: ClientAddress) =>
      new SignInContextReader({
        address,
        countryHeader: config.TRACEO_AUTH_COUNTRY_HEADER,
        key: keys.formKey,
      }),
  },
  {
    provide: OidcProviderHolder,
    inject: [
      SERVICE_RUNTIME,
      KEY_ENCRYPTION_KEY,
      PROVIDER_KEYS,
      ClientRepository,
      AccountRepository,
      RiskDecisions,
      SessionRecordsRepository,
      SignInContextReader,
    ],
    useFactory: (
      runtime: ServiceRuntime<AuthConfig>,
      kek: KeyEncryptionKey,
      keys: ProviderKeys,
      clients: ClientRepository,
      accounts: AccountRepository,
      risk: RiskDecisions,
      sessions: SessionRecordsRepository,
      contexts: SignInContextReader,
    ) => {
      const hooks = tokenIssuanceHooks({ risk, sessions, contexts, dataSource: runtime.dataSource });
      return new OidcProviderHolder(
        (current) =>
          createProvider({
            issuer: runtime.config.TRACEO_AUTH_ISSUER,
            resources: runtime.config.TRACEO_AUTH_RESOURCES,
            keys: current,
            dataSource: runtime.dataSource,
            kek,
            clients,
            accounts,
            trustProxy: runtime.config.TRACEO_AUTH_TRUST_PROXY,
            hooks,
          }),
        keys,
      );
    },
  },
];

/** Registers the clients of TRACEO_AUTH_CLIENTS at start-up and purges expired provider and sign-in rows every ten minutes. */
@Injectable()
export class OidcMaintenance implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuthConfig>,
    private readonly clients: ClientRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const client of this.runtime.config.TRACEO_AUTH_CLIENTS ?? []) await this.clients.save(client);
    this.timer = setInterval(() => {
      const { dataSource } = this.runtime;
      Promise.all([
        purgeExpiredOidcModels(dataSource),
        affectedRows(dataSource, 'DELETE FROM mfa_pending_sign_ins WHERE expires_at < now()'),
        affectedRows(dataSource, 'DELETE FROM totp_pending WHERE expires_at < now()'),
        // Sign-in throttle counters the policies have forgotten (an hour without attempts, not locked).
        affectedRows(
          dataSource,
          "DELETE FROM login_throttle WHERE last_failure_at < now() - interval '1 hour' AND (locked_until IS NULL OR locked_until < now())",
        ),
      ]).catch((error: unknown) => this.runtime.logger.warn({ err: error }, 'could not purge expired provider entries'));
    }, 600_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
