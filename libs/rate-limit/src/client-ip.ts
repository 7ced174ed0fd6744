import { BlockList, isIP } from 'node:net';

/** At most this many `X-Forwarded-For` hops are examined (right to left); a longer chain stops there. */
export const MAX_FORWARDED_HOPS = 32;

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). IPv4-mapped IPv6 ranges
 * (`::ffff:10.0.0.0/104`) become the IPv4 range they denote, since addresses are compared after the
 * same normalization. Returns undefined for anything else: names, zone ids, prefixes out of range.
 */
export function parseCidr(text: string): Cidr | undefined {
  const [rawAddress, rawPrefix, extra] = text.trim().split('/');
  if (rawAddress === undefined || extra !== undefined) return undefined;
  const family = isIP(rawAddress);
  if (family === 0 || rawAddress.includes('%')) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = rawPrefix === undefined ? max : /^\d{1,3}$/.test(rawPrefix) ? Number(rawPrefix) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  if (family === 6) {
    const bytes = ipv6Bytes(rawAddress)!;
    if (isIpv4Mapped(bytes) && prefix >= 96) return { address: bytes.slice(12).join('.'), prefix: prefix - 96, family: 'ipv4' };
    return { address: formatIpv6(bytes), prefix, family: 'ipv6' };
  }
  return { address: rawAddress, prefix, family: 'ipv4' };
}

/** CIDR ranges whose hops may append to `X-Forwarded-For` (node:net BlockList does the matching). */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if (!cidr) throw new Error(`not a CIDR range or IP address: ${JSON.stringify(text)}`);
      this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.size = cidrs.length;
  }

  /** `ip` must already be normalized (see `normalizeIp`). */
  has(ip: string): boolean {
    return this.size > 0 && this.list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
  }
}

/**
 * The address as the limiter keys it: IPv4 dotted quad, or canonical (RFC 5952) lower-case IPv6.
 * Accepts what appears in sockets and forwarding headers: `[v6]:port`, `v4:port`, zone ids (dropped),
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4` becomes `1.2.3.4`). Undefined for anything that is not an address
 * (`unknown`, obfuscated identifiers, garbage).
 */
export function normalizeIp(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let text = raw.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || (end + 1 < text.length && !/^:\d{1,5}$/.test(text.slice(end + 1)))) return undefined;
    text = text.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(text)) {
    text = text.slice(0, text.indexOf(':'));
  }
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return undefined;
  const bytes = ipv6Bytes(text)!;
  return isIpv4Mapped(bytes) ? bytes.slice(12).join('.') : formatIpv6(bytes);
}

/**
 * The client's address. The socket peer is the client unless it is a trusted proxy; then
 * `X-Forwarded-For` is walked from the right (the hop our proxy saw) to the left, skipping trusted
 * proxies, and the first untrusted hop is the client. Entries left of it were written by the client and
 * are never read, so a spoofed header cannot choose the key. If every hop is trusted, the leftmost is
 * the best knowledge there is; an unparseable hop stops the walk at the last address a trusted proxy
 * vouched for. Undefined only when the socket address itself is missing or invalid.
 */
export function resolveClientIp(
  remoteAddress: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: TrustedProxies,
): string | undefined {
  const peer = normalizeIp(remoteAddress);
  if (peer === undefined || !trusted.has(peer) || forwardedFor === undefined) return peer;
  const hops = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
  let client = peer;
  for (let i = hops.length - 1, seen = 0; i >= 0 && seen < MAX_FORWARDED_HOPS; i -= 1, seen += 1) {
    const hop = normalizeIp(hops[i]);
    if (hop === undefined) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}

/**
 * The bucket an address is limited in: the IPv4 address itself, or the IPv6 network of `ipv6Prefix`
 * bits (a single host usually holds a whole /64, so per-address IPv6 limits are trivially evaded).
 */
export function ipBucket(ip: string, ipv6Prefix: number): string {
  if (!ip.includes(':')) return ip;
  const bytes = ipv6Bytes(ip);
  if (!bytes) return ip;
  for (let bit = ipv6Prefix; bit < 128; bit += 1) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${formatIpv6(bytes)}/${ipv6Prefix}`;
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i += 1) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** 16 bytes of a textual IPv6 address that `isIP` accepted (zone id already removed). */
function ipv6Bytes(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(16);
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.indexOf('.', lastColon) > 0) {
    tail.push(
      ...body
        .slice(lastColon + 1)
        .split('.')
        .map(Number),
    );
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = body.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const left = groups(head);
  const right = groups(rest);
  const all = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  if (all.length !== 8 || all.some((group) => !(group >= 0 && group <= 0xffff))) return undefined;
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
