import { Module } from '@nestjs/common';
import { DataKeys } from './data-keys';
import { FieldCrypto } from './field-crypto.usecase';
import { KeyEvents } from './key-events';
import { KeyringAdmin } from './keyring-admin.usecase';
import { KeyringRepository } from './keyring.repository';
import { KeyringsHttpController } from './keyrings.http.controller';
import { RotationScheduler } from './rotation.scheduler';
import { SearchTokens } from './search-tokens';
import { ShredSubject } from './shred-subject.usecase';
import { SubjectKeyLeases } from './subject-key-leases.usecase';
import { SubjectKeys } from './subject-keys';
import { TokenQueries } from './token-queries.usecase';

@Module({
  controllers: [KeyringsHttpController],
  providers: [
    KeyringRepository,
    DataKeys,
    KeyEvents,
    KeyringAdmin,
    FieldCrypto,
    SearchTokens,
    TokenQueries,
    ShredSubject,
    SubjectKeys,
    SubjectKeyLeases,
    RotationScheduler,
  ],
})
export class KeyringsModule {}
