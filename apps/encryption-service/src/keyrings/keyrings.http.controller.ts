import { Body, Controller, Get, Header, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { auditActorOf, ForbiddenError, principalOfRequest, RequirePermissions, type Permission } from '@traceo/security';
import { ZodValidationPipe } from '@traceo/service-kit';
import type { Request } from 'express';
import { z } from 'zod';
import { FieldCrypto, MAX_BATCH_FIELDS, type FieldResult, type SealedField } from './field-crypto.usecase';
import {
  KEYRING_PURPOSES,
  MAX_ENCRYPTIONS_PER_VERSION_CEILING,
  MIN_ROTATION_PERIOD_SECONDS,
  WRAPPINGS,
  type Actor,
  type KeyringView,
} from './keyring';
import { KeyringAdmin } from './keyring-admin.usecase';
import { ShredSubject, type ShredResult } from './shred-subject.usecase';
import { MAX_LEASE_SUBJECTS, MAX_SEALS_PER_LEASE, SubjectKeyLeases, type LeaseAnswer } from './subject-key-leases.usecase';
import { TokenQueries, type QueryTokens } from './token-queries.usecase';

// Ids never contain '|', which separates them in the key-wrapping aad.
const tenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a lowercase tenant id');
const keyringId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a lowercase keyring id');
const subjectId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'must be an opaque subject id (letters, digits, . _ : @ -)');
const version = z.coerce
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);
const field = z.string().min(1).max(128);
const recordId = z.string().min(1).max(255);
const equality = z.enum(['email', 'phone', 'generic']);
const rangeType = z.enum(['integer', 'timestamp']);
const batch = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(MAX_BATCH_FIELDS);
const indexKeyrings = { equalityKeyringId: keyringId.optional(), rangeKeyringId: keyringId.optional() };

const createBody = z.strictObject({
  keyringId,
  purpose: z.enum(KEYRING_PURPOSES).default('field'),
  wrapping: z.enum(WRAPPINGS).optional(),
  rotationPeriodSeconds: z
    .number()
    .int()
    .min(MIN_ROTATION_PERIOD_SECONDS)
    .max(10 * 365 * 86_400)
    .nullable()
    .optional(),
  maxEncryptionsPerVersion: z.number().int().positive().max(MAX_ENCRYPTIONS_PER_VERSION_CEILING).optional(),
  blindIndexTokenBytes: z.number().int().min(8).max(32).optional(),
});
const updateBody = z
  .strictObject({
    wrapping: z.enum(WRAPPINGS).optional(),
    rotationPeriodSeconds: z
      .number()
      .int()
      .min(MIN_ROTATION_PERIOD_SECONDS)
      .max(10 * 365 * 86_400)
      .nullable()
      .optional(),
    maxEncryptionsPerVersion: z.number().int().positive().max(MAX_ENCRYPTIONS_PER_VERSION_CEILING).optional(),
    minDecryptionVersion: z
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1)
      .optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'name at least one setting to change');
// Sizes and base64 are checked per field, so one bad field fails alone (see FieldCrypto).
const encryptBody = z.strictObject({
  fields: batch(
    z.strictObject({
      field,
      recordId,
      plaintext: z.string(),
      subjectId: subjectId.optional(),
      equality: equality.optional(),
      range: rangeType.optional(),
    }),
  ),
  ...indexKeyrings,
});
const decryptBody = z.strictObject({ fields: batch(z.strictObject({ field, recordId, ciphertext: z.string() })) });
const rewrapBody = z.strictObject({
  fields: batch(z.strictObject({ field, recordId, ciphertext: z.string(), equality: equality.optional(), range: rangeType.optional() })),
  ...indexKeyrings,
});
const tokensBody = z.strictObject({
  values: batch(z.strictObject({ field, value: z.string().max(65_536), kind: equality.optional(), type: rangeType.optional() })),
});
const rangeBound = z.string().max(64).optional();
const queryBody = z.union([
  z.strictObject({ field, equals: z.string().max(65_536), kind: equality.optional() }),
  z.strictObject({ field, type: rangeType, gte: rangeBound, gt: rangeBound, lte: rangeBound, lt: rangeBound }),
]);
const retireBody = z.strictObject({ force: z.boolean().optional() });
const leaseBody = z.strictObject({
  subjects: z.array(subjectId).min(1).max(MAX_LEASE_SUBJECTS),
  /** Seals reserved per subject (counted as encryptions now). */
  seals: z.number().int().min(1).max(MAX_SEALS_PER_LEASE).default(10_000),
  /** A shorter lease than the service's longest, in seconds. */
  seconds: z.number().int().min(1).max(300).optional(),
});

type Results<T> = { results: FieldResult<T>[] };

/** The caller, for audit records: the authenticated principal, or the API client. */
function actorOf(request: Request): Actor {
  const principal = principalOfRequest(request);
  if (!principal) return { type: 'api-client', id: 'anonymous' };
  return auditActorOf(principal);
}

@ApiTags('encryption')
@Controller('v1/encryption/tenants/:tenantId/keyrings')
export class KeyringsHttpController {
  constructor(
    private readonly admin: KeyringAdmin,
    private readonly fields: FieldCrypto,
    private readonly tokens: TokenQueries,
    private readonly shredder: ShredSubject,
    private readonly leases: SubjectKeyLeases,
  ) {}

  @RequirePermissions()
  @Post()
  @ApiCreatedResponse({ description: 'The keyring; field, blind-index and range keyrings start with version 1 active' })
  create(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Body(new ZodValidationPipe(createBody)) body: z.infer<typeof createBody>,
  ): Promise<KeyringView> {
    // Subject keyrings (one key per person) may be provisioned by platform services; every other purpose is key management.
    const principal = principalOfRequest(request);
    const may = (permission: Permission) => principal?.permissions.has(permission) ?? false;
    if (!may('crypto:keys:manage') && !(body.purpose === 'subject' && may('crypto:subject-keys:provision'))) {
      throw new ForbiddenError('creating this keyring needs the crypto:keys:manage permission');
    }
    return this.admin.create(tenant, body, actorOf(request));
  }

  @RequirePermissions('crypto:keys:read')
  @Get()
  @ApiOkResponse({ description: "The tenant's keyrings with their versions and usage counters (never key material)" })
  async list(@Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string): Promise<{ keyrings: KeyringView[] }> {
    return { keyrings: await this.admin.list(tenant) };
  }

  @RequirePermissions('crypto:keys:read')
  @Get(':keyringId')
  @ApiOkResponse({ description: 'Key metadata: policy, versions, states and usage counters' })
  view(
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
  ): Promise<KeyringView> {
    return this.admin.view(tenant, keyring);
  }

  @RequirePermissions('crypto:keys:manage')
  @Patch(':keyringId')
  @ApiOkResponse({ description: 'Policy changed; a wrapping change rewraps the stored data keys, never the ciphertexts' })
  update(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(updateBody)) body: z.infer<typeof updateBody>,
  ): Promise<KeyringView> {
    return this.admin.update(tenant, keyring, body, actorOf(request));
  }

  @RequirePermissions('crypto:keys:manage')
  @Post(':keyringId/rotate')
  @HttpCode(200)
  @ApiOkResponse({ description: 'A new active version; older versions decrypt only' })
  rotate(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
  ): Promise<KeyringView> {
    return this.admin.rotate(tenant, keyring, actorOf(request));
  }

  @RequirePermissions('crypto:keys:manage')
  @Post(':keyringId/versions/:version/retire')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The version no longer decrypts; refused (409) while ciphertexts may depend on it' })
  retire(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Param('version', new ZodValidationPipe(version)) keyVersion: number,
    @Body(new ZodValidationPipe(retireBody)) body: z.infer<typeof retireBody>,
  ): Promise<KeyringView> {
    return this.admin.retire(tenant, keyring, keyVersion, body.force ?? false, actorOf(request));
  }

  @RequirePermissions('crypto:keys:manage')
  @Post(':keyringId/versions/:version/destroy')
  @HttpCode(200)
  @ApiOkResponse({ description: "A retired version's key is erased; irreversible" })
  destroy(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Param('version', new ZodValidationPipe(version)) keyVersion: number,
  ): Promise<KeyringView> {
    return this.admin.destroy(tenant, keyring, keyVersion, actorOf(request));
  }

  @RequirePermissions('crypto:encrypt')
  @Post(':keyringId/encrypt')
  @HttpCode(200)
  @ApiOkResponse({ description: 'Per field: ciphertext (base64), key version, and the equality/range tokens asked for' })
  async encrypt(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(encryptBody)) body: z.infer<typeof encryptBody>,
  ): Promise<Results<SealedField>> {
    return { results: await this.fields.encrypt(tenant, keyring, body.fields, body, actorOf(request)) };
  }

  @RequirePermissions('crypto:decrypt')
  @Post(':keyringId/decrypt')
  @HttpCode(200)
  @ApiOkResponse({ description: 'Per field: the plaintext (UTF-8) and the key version that opened it, or the error' })
  async decrypt(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(decryptBody)) body: z.infer<typeof decryptBody>,
  ): Promise<Results<{ plaintext: string; keyVersion: number }>> {
    return { results: await this.fields.decrypt(tenant, keyring, body.fields, actorOf(request)) };
  }

  @RequirePermissions('crypto:encrypt')
  @Post(':keyringId/rewrap')
  @HttpCode(200)
  @ApiOkResponse({ description: 'Per field: the ciphertext under the active version and fresh tokens; the plaintext never leaves' })
  async rewrap(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(rewrapBody)) body: z.infer<typeof rewrapBody>,
  ): Promise<Results<SealedField & { rewrapped: boolean }>> {
    return { results: await this.fields.rewrap(tenant, keyring, body.fields, body, actorOf(request)) };
  }

  @RequirePermissions('crypto:tokens')
  @Post(':keyringId/tokens')
  @HttpCode(200)
  @ApiOkResponse({ description: 'Equality (blind-index keyring) or range (range keyring) tokens under the active version' })
  async tokensFor(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(tokensBody)) body: z.infer<typeof tokensBody>,
  ): Promise<Results<{ token: string; keyVersion: number }>> {
    return { results: await this.tokens.tokensFor(tenant, keyring, body.values, actorOf(request)) };
  }

  @RequirePermissions('crypto:tokens')
  @Post(':keyringId/query-tokens')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The tokens for a WHERE clause: an IN list (equality) or one BETWEEN per index version (range)' })
  query(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(queryBody)) body: z.infer<typeof queryBody>,
  ): Promise<QueryTokens> {
    return this.tokens.query(tenant, keyring, body, actorOf(request));
  }

  @RequirePermissions('crypto:subjects:shred')
  @Post(':keyringId/subjects/:subjectId/shred')
  @HttpCode(200)
  @ApiOkResponse({ description: "The data subject's key is destroyed: everything sealed under it is unrecoverable; irreversible" })
  shred(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Param('subjectId', new ZodValidationPipe(subjectId)) subject: string,
  ): Promise<ShredResult> {
    return this.shredder.execute(tenant, keyring, subject, actorOf(request));
  }

  @RequirePermissions('crypto:subject-keys:lease')
  @Post(':keyringId/subject-keys/leases')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOkResponse({
    description:
      'Per subject: the unwrapped data key to seal with in process until the lease ends, or why not (a shredded subject gets none). Only for TRACEO_SUBJECT_KEY_LEASE_CLIENTS',
  })
  lease(
    @Req() request: Request,
    @Param('tenantId', new ZodValidationPipe(tenantId)) tenant: string,
    @Param('keyringId', new ZodValidationPipe(keyringId)) keyring: string,
    @Body(new ZodValidationPipe(leaseBody)) body: z.infer<typeof leaseBody>,
  ): Promise<LeaseAnswer> {
    return this.leases.lease(tenant, keyring, body, actorOf(request));
  }
}
