import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceKitModule, type ServiceRuntime } from '@traceo/service-kit';
import { KeyEncryptionKeyModule } from '@traceo/hsm';
import { AccountsAdminModule } from './accounts-admin/accounts-admin.module';
import { OidcModule } from './oidc/oidc.module';
import { SecondFactorModule } from './second-factor/second-factor.module';
import { ServiceInfoModule } from './service-info/service-info.module';
import { SessionsModule } from './sessions/sessions.module';

@Module({})
export class AppModule {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceKitModule.forRoot(runtime),
        ServiceInfoModule,
        KeyEncryptionKeyModule,
        OidcModule,
        SessionsModule,
        SecondFactorModule,
        AccountsAdminModule,
      ],
    };
  }
}
