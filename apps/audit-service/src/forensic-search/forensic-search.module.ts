import { Module } from '@nestjs/common';
import { PersonalDataModule } from '../personal-data/personal-data.module';
import { ForensicSearchHttpController } from './forensic-search.http.controller';
import { SearchAuditRecordsUseCase } from './search-audit-records.usecase';

@Module({
  imports: [PersonalDataModule],
  controllers: [ForensicSearchHttpController],
  providers: [SearchAuditRecordsUseCase],
})
export class ForensicSearchModule {}
