import { RequirePermissions } from '@traceo/security';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@traceo/service-kit';
import { z } from 'zod';
import { AuditProofsUseCase, type CheckpointView, type ConsistencyProofView, type InclusionProofView } from './audit-proofs.usecase';

const tenantParam = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a tenant id');
const size = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const checkpointQuery = z.strictObject({ treeSize: size.optional() });
const inclusionQuery = z
  .strictObject({
    leafIndex: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    eventId: z.string().min(1).max(128).optional(),
    treeSize: size.optional(),
  })
  .refine((q) => (q.leafIndex === undefined) !== (q.eventId === undefined), 'give exactly one of leafIndex or eventId');
const consistencyQuery = z.strictObject({ from: size, to: size });

@ApiTags('audit')
@ApiParam({ name: 'tenantId', example: 'acme' })
@Controller('v1/audit/tenants/:tenantId')
export class AuditProofsHttpController {
  constructor(private readonly proofs: AuditProofsUseCase) {}

  @RequirePermissions('audit:read')
  @Get('checkpoint')
  @ApiQuery({ name: 'treeSize', required: false, description: 'a specific checkpoint; the latest when absent' })
  @ApiOkResponse({ description: 'Signed checkpoint (tree head) with the signer public key' })
  checkpoint(
    @Param('tenantId', new ZodValidationPipe(tenantParam)) tenantId: string,
    @Query(new ZodValidationPipe(checkpointQuery)) query: z.infer<typeof checkpointQuery>,
  ): Promise<CheckpointView> {
    return this.proofs.checkpoint(tenantId, query.treeSize);
  }

  @RequirePermissions('audit:read')
  @Get('proofs/inclusion')
  @ApiQuery({ name: 'leafIndex', required: false })
  @ApiQuery({ name: 'eventId', required: false })
  @ApiQuery({ name: 'treeSize', required: false, description: 'defaults to the latest checkpoint' })
  @ApiOkResponse({ description: 'RFC 6962 inclusion proof of one record' })
  inclusion(
    @Param('tenantId', new ZodValidationPipe(tenantParam)) tenantId: string,
    @Query(new ZodValidationPipe(inclusionQuery)) query: z.infer<typeof inclusionQuery>,
  ): Promise<InclusionProofView> {
    return this.proofs.inclusion(tenantId, { leafIndex: query.leafIndex, eventId: query.eventId }, query.treeSize);
  }

  @RequirePermissions('audit:read')
  @Get('proofs/consistency')
  @ApiQuery({ name: 'from' })
  @ApiQuery({ name: 'to' })
  @ApiOkResponse({ description: 'RFC 6962 consistency proof between two tree sizes' })
  consistency(
    @Param('tenantId', new ZodValidationPipe(tenantParam)) tenantId: string,
    @Query(new ZodValidationPipe(consistencyQuery)) query: z.infer<typeof consistencyQuery>,
  ): Promise<ConsistencyProofView> {
    return this.proofs.consistency(tenantId, query.from, query.to);
  }
}
