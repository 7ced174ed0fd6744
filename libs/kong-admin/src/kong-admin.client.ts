import { isIP } from 'node:net';
import type { z } from 'zod';
import { codeForStatus, KongAdminError } from './kong-admin.errors';
import {
  type BlockIpRequest,
  type ConsumerPage,
  consumerPageSchema,
  type CreateConsumerRequest,
  type IpRestrictionPlugin,
  ipRestrictionPluginSchema,
  type KongConsumer,
  kongConsumerSchema,
  type ListConsumersQuery,
  type UnblockIpRequest,
} from './kong-admin.types';

export interface KongAdminClientOptions {
  /** Admin API base URL, e.g. http://kong:8001 (never exposed beyond the host or pod). */
  readonly baseUrl: string;
  /** Kong Enterprise RBAC token (sent as Kong-Admin-Token); open-source Kong has none. */
  readonly adminToken?: string;
  /** Per-request deadline. */
  readonly timeoutMs?: number;
  /** For tests and instrumentation; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

/**
 * A small typed client for the parts of Kong's Admin API the platform automates: API-client
 * consumers, their tier (Enterprise consumer groups), and IP blocks as automated responses.
 *
 * Kong in DB-less mode (docker-compose.yml, kong/kong.yml) answers every write with 405
 * (`KONG_ADMIN.READ_ONLY`): there, changes go through the declarative file. Writes need Kong with a
 * database, or Kong Enterprise / Konnect control planes.
 */
export class KongAdminClient {
  private readonly baseUrl: URL;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: KongAdminClientOptions) {
    this.baseUrl = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    if (this.baseUrl.protocol !== 'http:' && this.baseUrl.protocol !== 'https:')
      throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', 'baseUrl must be an http(s) URL');
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** GET /consumers: one page, filtered by tags. */
  async listConsumers(query: ListConsumersQuery = {}): Promise<ConsumerPage> {
    const params = new URLSearchParams();
    if (query.tags?.length) params.set('tags', query.tags.join(','));
    if (query.size !== undefined) {
      if (!Number.isInteger(query.size) || query.size < 1 || query.size > 1000)
        throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', 'size must be an integer from 1 to 1000');
      params.set('size', String(query.size));
    }
    if (query.offset) params.set('offset', query.offset);
    return this.request('GET', 'consumers', { query: params, schema: consumerPageSchema });
  }

  /** POST /consumers. */
  async createConsumer(body: CreateConsumerRequest): Promise<KongConsumer> {
    if (!body.username || !body.custom_id) throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', 'username and custom_id are required');
    const payload = { username: body.username, custom_id: body.custom_id, tags: [...(body.tags ?? [])] };
    return this.request('POST', 'consumers', { body: payload, schema: kongConsumerSchema });
  }

  /** DELETE /consumers/{username or id}; deleting a consumer that does not exist succeeds. */
  async deleteConsumer(usernameOrId: string): Promise<void> {
    await this.request('DELETE', `consumers/${segment(usernameOrId)}`);
  }

  /** POST /consumers/{consumer}/consumer_groups (Kong Enterprise: consumer groups are not in open source). */
  async addConsumerToGroup(consumer: string, group: string): Promise<void> {
    if (!group) throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', 'group is required');
    await this.request('POST', `consumers/${segment(consumer)}/consumer_groups`, { body: { group } });
  }

  /**
   * Creates an ip-restriction plugin entry that denies the given addresses, on one route or globally.
   * Returns the entry; keep its id to lift the block with unblockIp.
   */
  async blockIp(request: BlockIpRequest): Promise<IpRestrictionPlugin> {
    if (request.deny.length === 0) throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', 'deny needs at least one address');
    for (const entry of request.deny)
      if (!isAddressOrCidr(entry)) throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', `not an IP address or CIDR range: ${entry}`);
    if (request.status !== undefined && (!Number.isInteger(request.status) || request.status < 100 || request.status > 599))
      throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', 'status must be an HTTP status code');
    const config: Record<string, unknown> = { deny: [...request.deny] };
    if (request.status !== undefined) config.status = request.status;
    if (request.message !== undefined) config.message = request.message;
    const body = { name: 'ip-restriction', config, tags: [...(request.tags ?? [])] };
    const path = request.route ? `routes/${segment(request.route)}/plugins` : 'plugins';
    return this.request('POST', path, { body, schema: ipRestrictionPluginSchema });
  }

  /** Deletes an ip-restriction entry blockIp created. */
  async unblockIp(request: UnblockIpRequest): Promise<void> {
    const path = request.route
      ? `routes/${segment(request.route)}/plugins/${segment(request.pluginId)}`
      : `plugins/${segment(request.pluginId)}`;
    await this.request('DELETE', path);
  }

  private async request<T = undefined>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    { body, query, schema }: { body?: unknown; query?: URLSearchParams; schema?: z.ZodType<T> } = {},
  ): Promise<T> {
    const url = new URL(path, this.baseUrl);
    if (query && [...query.keys()].length > 0) url.search = query.toString();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.adminToken) headers['kong-admin-token'] = this.options.adminToken;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : 'connection failed';
      throw new KongAdminError('KONG_ADMIN.UNREACHABLE', `${method} ${url.pathname}: ${reason}`);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new KongAdminError(
        codeForStatus(response.status),
        `${method} ${url.pathname}: ${response.status} ${kongMessage(text)}`,
        response.status,
      );
    }
    if (!schema) return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KongAdminError('KONG_ADMIN.UNEXPECTED_RESPONSE', `${method} ${url.pathname}: the answer is not JSON`, response.status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new KongAdminError(
        'KONG_ADMIN.UNEXPECTED_RESPONSE',
        `${method} ${url.pathname}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
        response.status,
      );
    return parsed.data;
  }
}

/** One URL path segment; Kong names may hold characters that are not path-safe. */
function segment(value: string): string {
  if (!value) throw new KongAdminError('KONG_ADMIN.INVALID_INPUT', 'an id or name is required');
  return encodeURIComponent(value);
}

function isAddressOrCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  if (extra !== undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Kong's error bodies are `{ "message": "..." }`; anything else is summarised, not echoed. */
function kongMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    return typeof message === 'string' ? message.slice(0, 500) : 'error';
  } catch {
    return 'error';
  }
}
