import { listAuditRecordsQuerySchema } from './list-audit-records.usecase';

describe('audit record listing query', () => {
  it('defaults the page size and coerces numbers from the query string', () => {
    expect(listAuditRecordsQuerySchema.parse({})).toEqual({ limit: 50 });
    expect(listAuditRecordsQuerySchema.parse({ limit: '10', source: '/traceo/auth-service' })).toEqual({
      limit: 10,
      source: '/traceo/auth-service',
    });
  });

  it.each([
    { limit: '0' },
    { limit: '501' },
    { limit: 'ten' },
    { source: "x' OR 1=1 --" },
    { action: 'Service Started' },
    { unknown: '1' },
  ])('rejects %j', (query) => {
    expect(listAuditRecordsQuerySchema.safeParse(query).success).toBe(false);
  });
});
