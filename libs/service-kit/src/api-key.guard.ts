import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TraceoError } from '@traceo/contracts';
import type { Request } from 'express';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

export class UnauthenticatedError extends TraceoError {
  readonly code = 'AUTH.UNAUTHENTICATED';
  readonly status = 401;
}

const PUBLIC = 'traceo:public';

/** Marks a controller or route that needs no credentials (health, metrics, service info). */
export const Public = () => SetMetadata(PUBLIC, true);

export interface ApiClient {
  readonly id: string;
  readonly secretDigest: Buffer;
}

/** Parses TRACEO_API_KEYS (`client-id:secret[,client-id:secret…]`); only digests are kept in memory. */
export function parseApiKeys(value: string): ApiClient[] {
  return value.split(',').map((pair) => {
    const separator = pair.indexOf(':');
    return { id: pair.slice(0, separator).trim(), secretDigest: digest(pair.slice(separator + 1).trim()) };
  });
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Deny by default: every route needs `Authorization: Bearer <API key>` unless marked @Public().
 * The presented key is compared with every configured key in constant time (digests of equal
 * length, no early exit). An interim credential until auth-service issues OAuth tokens.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly clients: ApiClient[];

  constructor(
    private readonly reflector: Reflector,
    @Inject(SERVICE_RUNTIME) runtime: ServiceRuntime,
  ) {
    this.clients = parseApiKeys(runtime.config.TRACEO_API_KEYS);
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<Request & { apiClientId?: string }>();
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(request.headers.authorization ?? '');
    if (!match) throw new UnauthenticatedError('this endpoint needs an API key (Authorization: Bearer <key>)');
    const presented = digest(match[1]!);
    let found: string | undefined;
    for (const client of this.clients) if (timingSafeEqual(presented, client.secretDigest) && found === undefined) found = client.id;
    if (found === undefined) throw new UnauthenticatedError('the API key is not valid');
    request.apiClientId = found;
    return true;
  }
}
