import { z } from 'zod';

/**
 * traceo.gateway.request.v1 — one request Kong proxied or answered, from its log entry (the http-log
 * plugin's batches, which risk-service's `POST /v1/risk/gateway-events` turns into these events), for
 * the risk service's behaviour analysis. What is kept is what risk scoring uses; the raw URI, the
 * query string, the request and response headers (cookies, tokens) and the upstream address are not:
 * a path or query may carry identifiers, and the headers carry credentials.
 */
export const gatewayRequestV1Schema = z.strictObject({
  /** When Kong received the request (its log entry's `started_at`). */
  occurredAt: z.iso.datetime({ offset: true }),
  /** The correlation id Kong set or passed on (`X-Request-Id`), when there was one. */
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9._:@#-]{1,128}$/)
    .optional(),
  method: z.string().regex(/^[A-Z]{1,16}$/),
  /** The Kong route's name (or id) and service's name (or id); never the raw path. */
  route: z.string().min(1).max(256).optional(),
  service: z.string().min(1).max(256).optional(),
  /** The status Kong answered the client with (429/503 from a limit, 401 from jwt, the upstream's otherwise). */
  status: z.int().min(100).max(599),
  /** The client's address as Kong resolved it (trusted_ips, real_ip_header). */
  clientIp: z.union([z.ipv4(), z.ipv6()]),
  /** The API client Kong authenticated (its consumer: id, and username = OAuth client_id), when one was. */
  consumer: z
    .strictObject({
      id: z.string().min(1).max(128),
      username: z.string().min(1).max(128).optional(),
    })
    .optional(),
  userAgent: z.string().max(512).optional(),
  /** Milliseconds: the whole request, Kong's own share, and the upstream's (absent when nothing was proxied). */
  latencies: z.strictObject({
    totalMs: z.number().min(0),
    gatewayMs: z.number().min(0),
    upstreamMs: z.number().min(0).optional(),
  }),
  bytes: z.strictObject({
    request: z.int().nonnegative().optional(),
    response: z.int().nonnegative().optional(),
  }),
});

export type GatewayRequestV1 = z.infer<typeof gatewayRequestV1Schema>;
