import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceKitModule, type ServiceRuntime } from '@traceo/service-kit';
import { GatewayEventsModule } from './gateway-events/gateway-events.module';
import { ServiceInfoModule } from './service-info/service-info.module';

@Module({})
export class AppModule {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    return { module: AppModule, imports: [ServiceKitModule.forRoot(runtime), ServiceInfoModule, GatewayEventsModule] };
  }
}
