import { Module } from '@nestjs/common';
import { SiemExportHttpController } from './siem-export.http.controller';
import { SiemExportUseCase } from './siem-export.usecase';

/** SIEM export of the audit log in OCSF and CEF (docs/siem-mapping.md). */
@Module({
  controllers: [SiemExportHttpController],
  providers: [SiemExportUseCase],
})
export class SiemExportModule {}
