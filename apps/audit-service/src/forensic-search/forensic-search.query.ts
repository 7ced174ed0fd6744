import { z } from 'zod';

export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const tenantIdParam = z.string().regex(TENANT_ID, 'must be a tenant id');

export const SEARCH_PAGE_SIZE_DEFAULT = 100;
export const SEARCH_PAGE_SIZE_MAX = 1000;

// Query-string numbers are parsed strictly: z.coerce would turn `minRiskScore=` into 0.
const riskScore = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,6})?$/, 'must be a number from 0 to 100')
  .transform(Number)
  .pipe(z.number().min(0).max(100));
const pageSize = z
  .string()
  .regex(/^\d{1,4}$/, `must be an integer from 1 to ${SEARCH_PAGE_SIZE_MAX}`)
  .transform(Number)
  .pipe(z.number().int().min(1).max(SEARCH_PAGE_SIZE_MAX));

/** The filters of a forensic search (all optional, combined with AND); the shapes follow traceo.audit.record.v1. */
const filterShape = {
  actorId: z.string().min(1).max(256).optional(),
  actorType: z.enum(['user', 'service', 'api-client', 'system']).optional(),
  sessionId: z.string().min(1).max(128).optional(),
  requestId: z.string().min(1).max(128).optional(),
  resourceType: z.string().min(1).max(128).optional(),
  resourceId: z.string().min(1).max(256).optional(),
  action: z
    .string()
    .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'must be a dotted action name such as user.signed-in')
    .optional(),
  status: z.enum(['success', 'failure', 'denied']).optional(),
  /** occurredAt ≥ from (inclusive). */
  from: z.iso.datetime({ offset: true }).optional(),
  /** occurredAt < to (exclusive). */
  to: z.iso.datetime({ offset: true }).optional(),
  minRiskScore: riskScore.optional(),
  maxRiskScore: riskScore.optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as DE')
    .optional(),
};

/** Query of the NDJSON export: filters only, the export walks every page itself. */
export const forensicFiltersSchema = z.strictObject(filterShape);

/** Query of one page of search results. */
export const searchQuerySchema = z.strictObject({
  ...filterShape,
  limit: pageSize.default(SEARCH_PAGE_SIZE_DEFAULT),
  cursor: z.string().min(1).max(512).optional(),
});

export type ForensicFilters = z.output<typeof forensicFiltersSchema>;
export type SearchQuery = z.output<typeof searchQuerySchema>;
