import { EVENT_SCHEMAS, EventTypes, gatewayRequestBlockedV1Schema, TOPICS } from '@traceo/contracts';
import { requestBlockedV1Schema } from '@traceo/rate-limit';
import { z } from 'zod';

// libs/rate-limit builds the event data (requestBlockedEvent); libs/contracts registers the topic and
// its schema. The guard publishes the one through the other, so the two must agree field for field.
describe('traceo.gateway.request-blocked.v1', () => {
  it('is registered: topic keyed by tenant, schema in the registry', () => {
    expect(TOPICS.find((topic) => topic.name === EventTypes.gatewayRequestBlocked)).toMatchObject({ partitions: 3, key: 'tenantid' });
    expect(EVENT_SCHEMAS[EventTypes.gatewayRequestBlocked]).toBe(gatewayRequestBlockedV1Schema);
  });

  it("has libs/rate-limit's request-blocked fields exactly, plus the enforcer's suppressed and request", () => {
    const registered = gatewayRequestBlockedV1Schema.omit({ suppressed: true, request: true });
    expect(z.toJSONSchema(registered)).toEqual(z.toJSONSchema(requestBlockedV1Schema));
  });
});
