import { Module } from '@nestjs/common';
import { PersonalDataModule } from '../personal-data/personal-data.module';
import { SiemExportHttpController } from './siem-export.http.controller';
import { SiemExportUseCase } from './siem-export.usecase';
import { SiemForwardingScheduler } from './siem-forwarding.scheduler';

/** SIEM export of the audit log in OCSF and CEF, on request and continuously to a syslog collector (docs/siem-mapping.md). */
@Module({
  imports: [PersonalDataModule],
  controllers: [SiemExportHttpController],
  providers: [SiemExportUseCase, SiemForwardingScheduler],
})
export class SiemExportModule {}
