import { Module } from '@nestjs/common';
import { CreateKeyringUseCase } from './create-keyring.usecase';
import { DataKeys } from './data-keys';
import { DecryptFieldUseCase } from './decrypt-field.usecase';
import { EncryptFieldUseCase } from './encrypt-field.usecase';
import { KeyringRepository } from './keyring.repository';
import { KeyringsHttpController } from './keyrings.http.controller';
import { RotateKeyringUseCase } from './rotate-keyring.usecase';

@Module({
  controllers: [KeyringsHttpController],
  providers: [KeyringRepository, DataKeys, CreateKeyringUseCase, RotateKeyringUseCase, EncryptFieldUseCase, DecryptFieldUseCase],
})
export class KeyringsModule {}
