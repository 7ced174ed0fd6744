import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from '@traceo/hsm';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuthConfig } from '../auth-service.config';
import { OidcProviderHolder } from './oidc-provider.holder';
import { KEY_RELOAD_MS, loadProviderKeys } from './provider-keys';

/**
 * Rotation in a running auth-service: every KEY_RELOAD_MS it loads the signing keys again (which
 * creates a successor or retires a superseded key when due, and brings in keys another replica
 * created) and swaps in a provider that uses them if they changed. Each change is an audit record.
 */
@Injectable()
export class SigningKeyRotation implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuthConfig>,
    @Inject(KEY_ENCRYPTION_KEY) private readonly kek: KeyEncryptionKey,
    private readonly providers: OidcProviderHolder,
    private readonly publisher: EventPublisher,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.reload().catch((error: unknown) =>
        this.runtime.logger.error({ err: error }, 'could not reload the token-signing keys; signing with the ones loaded before'),
      );
    }, KEY_RELOAD_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Reloads the keys now; returns the key ids in use, the signing key first. */
  async reload(): Promise<readonly string[]> {
    const before = this.providers.signingKeyIds;
    const keys = await loadProviderKeys(this.runtime.dataSource, this.kek, this.runtime.config.TRACEO_AUTH_SIGNING_KEY_MAX_AGE_DAYS);
    if (!this.providers.useKeys(keys)) return before;
    const after = this.providers.signingKeyIds;
    this.runtime.logger.info({ signing: after[0], published: after }, 'token-signing keys changed');
    await this.publisher.audit({
      actor: { type: 'service', id: 'auth-service' },
      action: 'auth.signing-keys.changed',
      resource: { type: 'signing-key', id: after[0]! },
      status: 'success',
      details: {
        signing: after[0],
        published: [...after],
        added: after.filter((kid) => !before.includes(kid)),
        removed: before.filter((kid) => !after.includes(kid)),
      },
    });
    return after;
  }
}
