import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@traceo/service-kit';
import { z } from 'zod';
import { CreateKeyringUseCase } from './create-keyring.usecase';
import { DecryptFieldUseCase } from './decrypt-field.usecase';
import { EncryptFieldUseCase } from './encrypt-field.usecase';
import type { KeyringView } from './keyring';
import { RotateKeyringUseCase } from './rotate-keyring.usecase';

// Ids never contain '|', which separates them in the key-wrapping aad.
const tenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a lowercase tenant id');
const keyringId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a lowercase keyring id');
const fieldRef = { field: z.string().min(1).max(128), recordId: z.string().min(1).max(255) };

const createBody = z.strictObject({ keyringId });
const encryptBody = z.strictObject({ ...fieldRef, plaintext: z.string().max(65_536) });
const decryptBody = z.strictObject({ ...fieldRef, ciphertext: z.base64().min(1).max(100_000) });

@ApiTags('encryption')
@Controller('v1/encryption/tenants/:tenantId/keyrings')
export class KeyringsHttpController {
  constructor(
    private readonly createKeyring: CreateKeyringUseCase,
    private readonly rotateKeyring: RotateKeyringUseCase,
    private readonly encryptField: EncryptFieldUseCase,
    private readonly decryptField: DecryptFieldUseCase,
  ) {}

  @Post()
  @ApiCreatedResponse({ description: 'The keyring, with version 1 of its data key active' })
  create(
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Body(new ZodValidationPipe(createBody)) body: z.infer<typeof createBody>,
  ): Promise<KeyringView> {
    return this.createKeyring.execute(tenant, body.keyringId);
  }

  @Post(':keyringId/rotate')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The keyring with its new active version; older versions decrypt only' })
  rotate(
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
  ): Promise<KeyringView> {
    return this.rotateKeyring.execute(tenant, keyring);
  }

  @Post(':keyringId/encrypt')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The field ciphertext (base64) and the key version that sealed it' })
  async encrypt(
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(encryptBody)) body: z.infer<typeof encryptBody>,
  ): Promise<{ ciphertext: string; keyVersion: number }> {
    const ref = { tenantId: tenant, keyringId: keyring, field: body.field, recordId: body.recordId };
    const { ciphertext, keyVersion } = await this.encryptField.execute(ref, Buffer.from(body.plaintext, 'utf8'));
    return { ciphertext: ciphertext.toString('base64'), keyVersion };
  }

  @Post(':keyringId/decrypt')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The plaintext (UTF-8)' })
  async decrypt(
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(decryptBody)) body: z.infer<typeof decryptBody>,
  ): Promise<{ plaintext: string }> {
    const ref = { tenantId: tenant, keyringId: keyring, field: body.field, recordId: body.recordId };
    const { plaintext } = await this.decryptField.execute(ref, Buffer.from(body.ciphertext, 'base64'));
    return { plaintext: plaintext.toString('utf8') };
  }
}
