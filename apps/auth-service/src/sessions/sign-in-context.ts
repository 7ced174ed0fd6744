import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientAddress } from '../interactions/client-address';

/** Where and on what a person signs in, as recorded on the session and sent to the risk service. */
export interface SignInContext {
  readonly ip?: string;
  /** ISO 3166-1 alpha-2, from the gateway's geolocation header. */
  readonly country?: string;
  readonly userAgent?: string;
  /** Keyed hash of the device cookie: stable per browser profile, useless to anyone without the key. */
  readonly deviceFingerprint?: string;
}

/** The long-lived device cookie: a random id and its MAC, so a forged or edited cookie counts as a new device. */
export const DEVICE_COOKIE = 'traceo_device';
const DEVICE_COOKIE_MAX_AGE_SECONDS = 400 * 24 * 3600; // the most RFC 6265bis lets a browser keep
const COOKIE_VALUE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/;
const COUNTRY = /^[A-Za-z]{2}$/;

export interface SignInContextOptions {
  /** The service's client-address resolution (TRACEO_TRUSTED_PROXIES): only those peers' X-Forwarded-For and country header are believed. */
  readonly address: ClientAddress;
  /** The request header carrying the client's country (set by the gateway or CDN), if any. */
  readonly countryHeader?: string | undefined;
  /** Server secret for the device cookie's MAC and the fingerprint (provider keys' form key). */
  readonly key: Buffer;
}

/**
 * Reads a sign-in's context from the request and gives a browser without a valid device cookie a
 * new one. The country header is trusted only from a configured proxy (as X-Forwarded-For is), so
 * a client cannot claim to be elsewhere by sending it directly.
 */
export class SignInContextReader {
  private readonly address: ClientAddress;
  private readonly countryHeader: string | undefined;

  constructor(private readonly options: SignInContextOptions) {
    this.address = options.address;
    this.countryHeader = options.countryHeader?.toLowerCase();
  }

  read(req: IncomingMessage, res?: ServerResponse): SignInContext {
    const ip = this.address.of(req);
    const userAgent = req.headers['user-agent']?.slice(0, 1024);
    const country = this.country(req);
    const deviceId = this.deviceId(req, res);
    return {
      ...(ip ? { ip } : {}),
      ...(country ? { country } : {}),
      ...(userAgent ? { userAgent } : {}),
      ...(deviceId ? { deviceFingerprint: this.mac(`device:${deviceId}`, 18) } : {}),
    };
  }

  private country(req: IncomingMessage): string | undefined {
    if (!this.countryHeader || !this.address.fromTrustedProxy(req)) return undefined;
    const value = req.headers[this.countryHeader];
    const text = Array.isArray(value) ? value[0] : value;
    return text && COUNTRY.test(text.trim()) ? text.trim().toUpperCase() : undefined;
  }

  /** The valid device id from the cookie, or a new one set on `res` (without `res`, none). */
  private deviceId(req: IncomingMessage, res: ServerResponse | undefined): string | undefined {
    const match = COOKIE_VALUE.exec(cookieValue(req.headers.cookie, DEVICE_COOKIE) ?? '');
    if (match) {
      const expected = Buffer.from(this.mac(`device-cookie:${match[1]}`, 16));
      const given = Buffer.from(match[2]!);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return match[1];
    }
    if (!res || res.headersSent) return undefined;
    const id = randomBytes(16).toString('base64url');
    const secure = (req.socket as { encrypted?: boolean } | null)?.encrypted === true || req.headers['x-forwarded-proto'] === 'https';
    res.appendHeader(
      'set-cookie',
      `${DEVICE_COOKIE}=${id}.${this.mac(`device-cookie:${id}`, 16)}; Path=/; Max-Age=${DEVICE_COOKIE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
    );
    return id;
  }

  private mac(message: string, bytes: number): string {
    return createHmac('sha256', this.options.key).update(message).digest().subarray(0, bytes).toString('base64url');
  }
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
