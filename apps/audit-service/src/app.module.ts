import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceKitModule, type ServiceRuntime } from '@traceo/service-kit';
import { AuditLogModule } from './audit-log/audit-log.module';
import { ForensicSearchModule } from './forensic-search/forensic-search.module';
import { RetentionModule } from './retention/retention.module';
import { ServiceInfoModule } from './service-info/service-info.module';
import { SiemExportModule } from './siem-export/siem-export.module';

@Module({})
export class AppModule {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceKitModule.forRoot(runtime),
        ServiceInfoModule,
        AuditLogModule,
        RetentionModule,
        SiemExportModule,
        ForensicSearchModule,
      ],
    };
  }
}
