import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_RUNTIME, type BaseConfig, type ServiceRuntime } from '@traceo/service-kit';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from './key-encryption-key.port';
import { Pkcs11KeyEncryptionKey } from './pkcs11-key-encryption-key';
import type { Pkcs11Config } from './pkcs11.config';

/** Closes the HSM session when the service stops. */
@Injectable()
class KeyEncryptionKeyLifecycle implements OnApplicationShutdown {
  constructor(@Inject(KEY_ENCRYPTION_KEY) private readonly kek: KeyEncryptionKey) {}

  onApplicationShutdown(): void {
    this.kek.close();
  }
}

/** Opens the HSM-resident key-encryption key at boot: a service that cannot reach its HSM does not start. */
@Global()
@Module({
  providers: [
    {
      provide: KEY_ENCRYPTION_KEY,
      inject: [SERVICE_RUNTIME],
      useFactory: ({ config }: ServiceRuntime<BaseConfig & Pkcs11Config>): KeyEncryptionKey =>
        Pkcs11KeyEncryptionKey.open({
          modulePath: config.TRACEO_PKCS11_MODULE,
          tokenLabel: config.TRACEO_PKCS11_TOKEN_LABEL,
          pin: config.TRACEO_PKCS11_PIN,
          gcmIvSource: config.TRACEO_PKCS11_GCM_IV_SOURCE,
        }),
    },
    KeyEncryptionKeyLifecycle,
  ],
  exports: [KEY_ENCRYPTION_KEY],
})
export class KeyEncryptionKeyModule {}
