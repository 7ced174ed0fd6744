// RateLimit-Policy and RateLimit fields as defined by draft-ietf-httpapi-ratelimit-headers-11
// (23 May 2026, https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/11/): each field
// is a Structured Field List (RFC 9651) whose items are Strings naming a quota policy, with
//   RateLimit-Policy: "name";q=<quota>;w=<window seconds>       (section 3)
//   RateLimit:        "name";r=<available quota>;t=<effective window seconds>   (section 4)
// Section 6: when Retry-After is present it must not point earlier than the end of the effective window.

export interface RateLimitHeaders {
  readonly 'RateLimit-Policy': string;
  /** Absent when no counter could be read (the store was unreachable and the rule fails closed). */
  readonly RateLimit?: string;
  /** Delay-seconds, on refused decisions only. */
  readonly 'Retry-After'?: string;
}

export interface PolicyItem {
  readonly policy: string;
  readonly limit: number;
  readonly window: number;
}

export interface ServiceLimitItem {
  readonly policy: string;
  readonly remaining: number;
  readonly reset: number;
}

/** The rule name alone for a single limit; `<rule>-<window>` (`api-1s`, `api-1h`) when it has several. */
export function policyName(rule: string, windowSeconds: number, limitsInRule: number): string {
  if (limitsInRule === 1) return rule;
  const [size, unit] =
    windowSeconds % 86_400 === 0
      ? [windowSeconds / 86_400, 'd']
      : windowSeconds % 3_600 === 0
        ? [windowSeconds / 3_600, 'h']
        : windowSeconds % 60 === 0
          ? [windowSeconds / 60, 'm']
          : [windowSeconds, 's'];
  return `${rule}-${size}${unit}`;
}

/** An RFC 9651 sf-string: printable ASCII in quotes, with `\` and `"` escaped. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new RangeError('a structured-field string holds printable ASCII only');
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

export function rateLimitPolicyHeader(items: readonly PolicyItem[]): string {
  return items.map((item) => `${sfString(item.policy)};q=${item.limit};w=${item.window}`).join(', ');
}

export function rateLimitHeader(items: readonly ServiceLimitItem[]): string {
  return items.map((item) => `${sfString(item.policy)};r=${item.remaining};t=${item.reset}`).join(', ');
}
