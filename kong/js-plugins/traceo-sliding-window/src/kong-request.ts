import { IDENTIFIER_FALLBACKS, normalizeIp, type IdentifierSource, type RateLimitRequest } from '@traceo/rate-limit';
import type { SlidingWindowConfig } from './plugin-config';

/** A Kong entity as the PDK returns it over the plugin server's RPC (unset fields arrive as null). */
export interface KongEntity {
  readonly id?: string | null;
  readonly name?: string | null;
}

/**
 * The part of kong-pdk's `kong` object this plugin calls. Every call is one RPC round trip to Kong
 * (kong-pdk turns `kong.client.getForwardedIp()` into the PDK method `kong.client.get_forwarded_ip`).
 * Declared here because kong-pdk's generated typings get several of these wrong (getCredential as a
 * string, setHeader's value as an array, exit's body as a Buffer).
 */
export interface KongPdk {
  readonly client: {
    getConsumer(): Promise<KongEntity | null | undefined>;
    getCredential(): Promise<KongEntity | null | undefined>;
    getForwardedIp(): Promise<string | null | undefined>;
  };
  readonly request: {
    getHeader(name: string): Promise<string | null | undefined>;
    getPath(): Promise<string | null | undefined>;
    getMethod(): Promise<string | null | undefined>;
  };
  readonly router: {
    getRoute(): Promise<KongEntity | null | undefined>;
  };
  readonly response: {
    setHeader(name: string, value: string): Promise<unknown>;
    /** Ends the request; kong-pdk does not wait for Kong's answer, so it must be the last PDK call. */
    exit(status: number, body: string, headers: Readonly<Record<string, string>>): Promise<unknown>;
  };
  readonly log: {
    warn(...message: string[]): Promise<unknown>;
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Headers the limiter's anonymous fingerprint is made of (libs/rate-limit identifiers.ts). */
const FINGERPRINT_HEADERS = ['user-agent', 'accept', 'accept-language', 'accept-encoding'] as const;

/**
 * What the limiter needs to know about this request, asking Kong only for what the identifier's
 * fallback chain reaches (libs/rate-limit IDENTIFIER_FALLBACKS): a request with a consumer costs one
 * PDK call, an anonymous one three. The client address is Kong's forwarded IP, which already applies
 * kong.conf's trusted_ips / real_ip_header, so the limiter trusts no proxy itself.
 */
export async function describeRequest(kong: KongPdk, config: SlidingWindowConfig): Promise<RateLimitRequest> {
  const request: Mutable<RateLimitRequest> = { headers: {}, path: '' };
  for (const source of IDENTIFIER_FALLBACKS[config.identifier]) {
    if (await read(kong, source, config, request)) break;
  }
  return request;
}

async function read(
  kong: KongPdk,
  source: IdentifierSource,
  config: SlidingWindowConfig,
  request: Mutable<RateLimitRequest>,
): Promise<boolean> {
  const headers = request.headers as Record<string, string>;
  switch (source) {
    case 'consumer': {
      const id = (await kong.client.getConsumer())?.id;
      if (id) request.consumer = { id };
      return Boolean(id);
    }
    case 'credential': {
      const id = (await kong.client.getCredential())?.id;
      if (id) request.credential = id;
      return Boolean(id);
    }
    case 'ip': {
      const ip = (await kong.client.getForwardedIp()) ?? undefined;
      if (ip) request.remoteAddress = ip;
      return normalizeIp(ip) !== undefined;
    }
    case 'header': {
      const name = config.header_name!.toLowerCase();
      const value = (await kong.request.getHeader(name))?.trim();
      if (value) headers[name] = value;
      return Boolean(value);
    }
    case 'route': {
      const route = await kong.router.getRoute();
      const id = route?.id ?? route?.name;
      if (id) request.route = id;
      return Boolean(id);
    }
    case 'path':
      request.path = (await kong.request.getPath()) || '/';
      return true;
    case 'anonymous':
      for (const name of FINGERPRINT_HEADERS) {
        const value = await kong.request.getHeader(name);
        if (value) headers[name] = value;
      }
      return true;
  }
}
