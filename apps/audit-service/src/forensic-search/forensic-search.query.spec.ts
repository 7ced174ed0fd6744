import { forensicFiltersSchema, searchQuerySchema } from './forensic-search.query';
import { assertConsistentFilters } from './search-audit-records.usecase';

describe('forensic search query', () => {
  it('defaults the page size to 100 and parses numbers from the query string', () => {
    expect(searchQuerySchema.parse({})).toEqual({ limit: 100 });
    expect(searchQuerySchema.parse({ limit: '1000', minRiskScore: '12.5', maxRiskScore: '100' })).toEqual({
      limit: 1000,
      minRiskScore: 12.5,
      maxRiskScore: 100,
    });
  });

  it('accepts every filter in its documented shape', () => {
    const query = {
      actorId: 'user-42',
      actorType: 'user',
      sessionId: 'sess-1',
      requestId: 'req-1',
      resourceType: 'document',
      resourceId: 'doc-7',
      action: 'user.signed-in',
      status: 'denied',
      from: '2026-11-24T00:00:00+02:00',
      to: '2026-11-25T00:00:00.123456Z',
      minRiskScore: '0',
      maxRiskScore: '99.5',
      country: 'DE',
    };
    expect(forensicFiltersSchema.parse(query)).toEqual({ ...query, minRiskScore: 0, maxRiskScore: 99.5 });
  });

  it.each([
    [{ limit: '0' }],
    [{ limit: '1001' }],
    [{ limit: '' }],
    [{ limit: '1e2' }],
    [{ minRiskScore: '' }],
    [{ minRiskScore: '-1' }],
    [{ maxRiskScore: '100.5' }],
    [{ maxRiskScore: '0x10' }],
    [{ from: '2026-11-24' }],
    [{ from: '2026-11-24T00:00:00' }],
    [{ to: 'yesterday' }],
    [{ country: 'de' }],
    [{ country: 'DEU' }],
    [{ actorType: 'robot' }],
    [{ status: 'ok' }],
    [{ action: "x' OR 1=1 --" }],
    [{ actorId: '' }],
    [{ actorId: ['a', 'b'] }],
    [{ sessionId: 's'.repeat(129) }],
    [{ unknown: '1' }],
    [{ tenantId: 'globex' }],
  ])('refuses %j', (query) => {
    expect(searchQuerySchema.safeParse(query).success).toBe(false);
  });

  it('does not take a cursor or a page size for the export', () => {
    expect(forensicFiltersSchema.safeParse({ cursor: 'abc' }).success).toBe(false);
    expect(forensicFiltersSchema.safeParse({ limit: '10' }).success).toBe(false);
  });
});

describe('filters that contradict each other', () => {
  it.each([
    [{ from: '2026-11-25T00:00:00Z', to: '2026-11-24T00:00:00Z' }, 'from must not be after to'],
    // The same instant written with different offsets is not "after".
    [{ from: '2026-11-24T02:00:01+02:00', to: '2026-11-24T00:00:00Z' }, 'from must not be after to'],
    [{ minRiskScore: 80, maxRiskScore: 20 }, 'minRiskScore must not exceed maxRiskScore'],
    [{ resourceId: 'doc-7' }, /resourceId needs resourceType/],
  ])('refuses %j with AUDIT.INVALID_FILTER', (filters, message) => {
    expect(() => assertConsistentFilters(filters)).toThrow(expect.objectContaining({ code: 'AUDIT.INVALID_FILTER', status: 400 }));
    expect(() => assertConsistentFilters(filters)).toThrow(message);
  });

  it.each([
    [{}],
    [{ from: '2026-11-24T02:00:00+02:00', to: '2026-11-24T00:00:00Z' }],
    [{ minRiskScore: 50, maxRiskScore: 50 }],
    [{ resourceType: 'document', resourceId: 'doc-7' }],
  ])('accepts %j', (filters) => {
    expect(() => assertConsistentFilters(filters)).not.toThrow();
  });
});
