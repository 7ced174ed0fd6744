/**
 * What the limiter needs to know about a request; the gateway or the Nest guard fills it in. Nothing
 * here is trusted blindly: forwarding headers are read only from trusted proxies, and every
 * identifier is hashed before it is used as a key or leaves the limiter.
 */
export interface RateLimitRequest {
  /** The TCP peer (socket `remoteAddress`); undefined on a Unix socket. */
  readonly remoteAddress?: string;
  /** Request headers with lower-case names, as Node delivers them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** URL path without the query string. */
  readonly path: string;
  /** The matched route template (`/v1/keyrings/:id`), when the router knows it. */
  readonly route?: string;
  /** The authenticated consumer; `group` selects the tier (free, standard, premium, enterprise). */
  readonly consumer?: { readonly id: string; readonly group?: string };
  /** The credential the request authenticated with (API key id, token id); hashed, never stored. */
  readonly credential?: string;
  /** Endpoint class for per-class limits (`auth`, `search`, `export`, …). */
  readonly endpointClass?: string;
  /**
   * 0 (no risk) … 100 from the risk engine; undefined or not a number means no adjustment. When the
   * caller gives none, a `traceo-risk-score` header (RISK_SCORE_HEADER) from a trusted proxy (a gateway
   * that asked the risk service) is used; from anyone else the header is ignored.
   */
  readonly riskScore?: number;
}

/** The header a trusted proxy passes the caller's risk score in (0–100, as a decimal number). */
export const RISK_SCORE_HEADER = 'traceo-risk-score';

export function headerValue(request: RateLimitRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}
