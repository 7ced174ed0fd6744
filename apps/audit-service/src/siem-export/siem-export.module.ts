import { Module } from '@nestjs/common';
import { PersonalDataModule } from '../personal-data/personal-data.module';
import { SiemExportHttpController } from './siem-export.http.controller';
import { SiemExportUseCase } from './siem-export.usecase';

/** SIEM export of the audit log in OCSF and CEF (docs/siem-mapping.md). */
@Module({
  imports: [PersonalDataModule],
  controllers: [SiemExportHttpController],
  providers: [SiemExportUseCase],
})
export class SiemExportModule {}
