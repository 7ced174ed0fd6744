import { z } from 'zod';

// Request bodies, shaped by Kong's published Admin API document (see ../spec/README.md) and checked
// against it by kong-admin.contract.spec.ts. Responses are parsed with the schemas below, which keep
// the fields this library uses and drop the rest.

export interface CreateConsumerRequest {
  /** Unique username; Traceo uses the API client's OAuth client_id. */
  readonly username: string;
  /** Traceo's own id for the client (Kong's published schema requires it alongside username). */
  readonly custom_id: string;
  readonly tags?: readonly string[];
}

export interface ListConsumersQuery {
  /** Only consumers carrying every one of these tags (Kong's `tags=a,b`). */
  readonly tags?: readonly string[];
  /** Page size, 1..1000 (Kong's default 100). */
  readonly size?: number;
  /** The `offset` of the previous page. */
  readonly offset?: string;
}

export interface BlockIpRequest {
  /** Addresses or CIDR ranges (IPv4 or IPv6) to deny. */
  readonly deny: readonly string[];
  /** Limit the block to one route (id or name); without it the block is global. */
  readonly route?: string;
  /** Status and message Kong answers blocked clients with (ip-restriction defaults: 403). */
  readonly status?: number;
  readonly message?: string;
  /** Tags for finding the entry again, e.g. ['traceo', 'automated-response', 'incident:<id>']. */
  readonly tags?: readonly string[];
}

export interface UnblockIpRequest {
  /** The id of the ip-restriction plugin entry blockIp returned. */
  readonly pluginId: string;
  /** The route it was created on, if any. */
  readonly route?: string;
}

const tags = z
  .array(z.string())
  .nullish()
  .transform((value) => value ?? []);

export const kongConsumerSchema = z.object({
  id: z.string().min(1),
  username: z.string().nullish(),
  custom_id: z.string().nullish(),
  tags,
  created_at: z.number().int(),
});
export type KongConsumer = z.output<typeof kongConsumerSchema>;

export const consumerPageSchema = z.object({
  data: z.array(kongConsumerSchema),
  /** Pass as `offset` to fetch the next page; absent on the last page. */
  offset: z.string().nullish(),
});
export type ConsumerPage = z.output<typeof consumerPageSchema>;

const reference = z.object({ id: z.string() }).nullish();

export const ipRestrictionPluginSchema = z.object({
  id: z.string().min(1),
  name: z.literal('ip-restriction'),
  route: reference,
  service: reference,
  consumer: reference,
  enabled: z.boolean(),
  tags,
  config: z.object({
    deny: z.array(z.string()).nullish(),
    allow: z.array(z.string()).nullish(),
    status: z.number().int().nullish(),
    message: z.string().nullish(),
  }),
  created_at: z.number().int(),
});
export type IpRestrictionPlugin = z.output<typeof ipRestrictionPluginSchema>;
