import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceKitModule, type ServiceRuntime } from '@traceo/service-kit';
import { KeyEncryptionKeyModule } from '@traceo/hsm';
import { HsmClusterModule } from './hsm-cluster/hsm-cluster.module';
import { KeyringsModule } from './keyrings/keyrings.module';
import { ServiceInfoModule } from './service-info/service-info.module';

@Module({})
export class AppModule {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [ServiceKitModule.forRoot(runtime), ServiceInfoModule, KeyEncryptionKeyModule, HsmClusterModule, KeyringsModule],
    };
  }
}
