import { ipBucket, normalizeIp, resolveClientIp, TrustedProxies } from '@traceo/rate-limit';
import type { IncomingMessage } from 'node:http';

/**
 * The client's address as the rate limiter sees it: the socket peer, or, when that peer is one of
 * TRACEO_TRUSTED_PROXIES (Kong), the first untrusted hop of X-Forwarded-For from the right, so a
 * spoofed header cannot choose it. Without this, every sign-in behind the gateway would share the
 * gateway's address and one attacker could lock the per-IP backoff for everybody.
 */
export class ClientAddress {
  private readonly trusted: TrustedProxies;

  constructor(trustedProxies: readonly string[] = []) {
    this.trusted = new TrustedProxies(trustedProxies);
  }

  of(req: IncomingMessage): string | undefined {
    // The socket can be gone once a response was sent early (a refused body); the address is then unknown.
    const socket = req.socket as IncomingMessage['socket'] | null;
    return resolveClientIp(socket?.remoteAddress, req.headers['x-forwarded-for'], this.trusted);
  }

  /** Whether the socket peer is one of the trusted proxies, whose headers (X-Forwarded-For, a country header) are believed. */
  fromTrustedProxy(req: IncomingMessage): boolean {
    const peer = normalizeIp((req.socket as IncomingMessage['socket'] | null)?.remoteAddress);
    return peer !== undefined && this.trusted.has(peer);
  }

  /** The backoff key part: the IPv4 address, or the IPv6 /64 (one host usually holds a whole /64). */
  throttleKey(ip: string): string {
    return ipBucket(ip, 64);
  }
}
