import type { GatewayRequestV1 } from '@traceo/contracts';
import { z } from 'zod';

/** Kong entities as its log serializer writes them (cjson: unset fields absent or null). */
const entity = z.looseObject({ id: z.string().max(128).nullish(), name: z.string().max(256).nullish() }).nullish();
const headerValue = z.union([z.string(), z.array(z.string())]);
/** nginx's sizes arrive as numbers, or as the string nginx gave when it was not one. */
const size = z.union([z.int().nonnegative(), z.string()]).optional();
/**
 * Milliseconds (`ngx.req.start_time() * 1000`, which floating point may leave a hair off a whole
 * number), 2000-01-01 to 2100-01-01: anything else is not a Kong timestamp.
 */
const startedAt = z.number().min(946_684_800_000).max(4_102_444_800_000);

/**
 * The part of one Kong log entry (`kong.log.serialize()`, what http-log posts; Kong 3.x) this service
 * reads. Loose: Kong versions and plugins (`kong.log.set_serialize_value`) add fields, which are
 * ignored; the fields read are checked.
 */
export const kongLogEntrySchema = z.looseObject({
  started_at: startedAt,
  client_ip: z.union([z.ipv4(), z.ipv6()]),
  request: z.looseObject({
    method: z.string().regex(/^[A-Z]{1,16}$/, 'must be an HTTP method in capitals'),
    size,
    headers: z.record(z.string(), headerValue).optional(),
  }),
  response: z.looseObject({ status: z.int().min(100).max(599), size }),
  latencies: z.looseObject({
    request: z.number().min(0),
    kong: z.number().min(0).optional(),
    /** -1 when nothing was proxied (Kong answered itself). */
    proxy: z.number().min(-1).optional(),
  }),
  route: entity,
  service: entity,
  consumer: z.looseObject({ id: z.string().min(1).max(128), username: z.string().min(1).max(128).nullish() }).nullish(),
});

export type KongLogEntry = z.output<typeof kongLogEntrySchema>;

const REQUEST_ID = /^[A-Za-z0-9._:@#-]{1,128}$/;

/**
 * The `traceo.gateway.request.v1` data of one entry. Kept: method, route and service names, status,
 * client address, consumer, user agent, request id, latencies and sizes. Dropped: the URI and query
 * string (identifiers), every other header (cookies, tokens) and the upstream's address.
 */
export function gatewayRequestOf(entry: KongLogEntry): GatewayRequestV1 {
  const headers = entry.request.headers ?? {};
  const requestId = first(headers['x-request-id']);
  const userAgent = first(headers['user-agent']);
  const route = entry.route?.name ?? entry.route?.id ?? undefined;
  const service = entry.service?.name ?? entry.service?.id ?? undefined;
  const requestBytes = bytes(entry.request.size);
  const responseBytes = bytes(entry.response.size);
  const { request: totalMs, kong: gatewayMs, proxy } = entry.latencies;
  return {
    occurredAt: new Date(Math.floor(entry.started_at)).toISOString(),
    ...(requestId !== undefined && REQUEST_ID.test(requestId) ? { requestId } : {}),
    method: entry.request.method,
    ...(route ? { route } : {}),
    ...(service ? { service } : {}),
    status: entry.response.status,
    clientIp: entry.client_ip,
    ...(entry.consumer
      ? { consumer: { id: entry.consumer.id, ...(entry.consumer.username ? { username: entry.consumer.username } : {}) } }
      : {}),
    ...(userAgent ? { userAgent: userAgent.slice(0, 512) } : {}),
    latencies: { totalMs, gatewayMs: gatewayMs ?? 0, ...(proxy !== undefined && proxy >= 0 ? { upstreamMs: proxy } : {}) },
    bytes: {
      ...(requestBytes !== undefined ? { request: requestBytes } : {}),
      ...(responseBytes !== undefined ? { response: responseBytes } : {}),
    },
  };
}

function first(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function bytes(value: number | string | undefined): number | undefined {
  if (typeof value === 'number') return value;
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}
