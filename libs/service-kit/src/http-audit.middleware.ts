import { isIP } from 'node:net';
import { PROBE_PATHS } from '@traceo/observability';
import { auditActorOf, type AuditActor, type Principal } from '@traceo/security';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { EventPublisher } from './event-publisher';

const NOT_AUDITED = /^\/(docs|docs-json|docs-yaml)(\/|\?|$)/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Records one audit event for every API call the service answers (probes and API docs excepted),
 * after the response is sent (a deferred outbox write, see EventPublisher): status maps to success
 * (<400), denied (401/403, and 429 from rate limiting) or failure.
 */
export function httpAuditMiddleware(service: string, publisher: EventPublisher, logger: Logger) {
  return (req: Request & { id?: unknown; apiClientId?: string; principal?: Principal }, res: Response, next: NextFunction): void => {
    const path = req.path;
    if (PROBE_PATHS.test(req.originalUrl) || NOT_AUDITED.test(path)) return next();
    // Read now: by 'finish' the socket may already be detached (a response sent before the request body
    // was read, e.g. 413), and reading it then threw inside an event handler and took the process down.
    const remoteAddress = req.socket.remoteAddress;
    res.once('finish', () => {
      const status = res.statusCode;
      const route = (req.route as { path?: string } | undefined)?.path ?? path;
      const ip = remoteAddress?.replace(/^::ffff:/, '');
      const userAgent = req.headers['user-agent'];
      const traceparent = req.headers.traceparent;
      publisher
        .audit(
          {
            actor: actorOf(req),
            action: 'api.request',
            resource: { type: 'http-route', id: `${req.method} ${route}`.slice(0, 256) },
            status: status < 400 ? 'success' : status === 401 || status === 403 || status === 429 ? 'denied' : 'failure',
            resultCode: String(status),
            requestId: typeof req.id === 'string' ? req.id : undefined,
            ...(ip && isIP(ip) ? { ip } : {}),
            ...(typeof userAgent === 'string' ? { userAgent: userAgent.slice(0, 1024) } : {}),
            details: { service },
          },
          // Written after the response: it joins the next outbox write (at most 5 ms later) instead of adding one.
          { deferred: true, ...(typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? { traceparent } : {}) },
        )
        .catch((error: unknown) => logger.error({ err: error }, 'could not record the audit event for an API call'));
    });
    next();
  };
}

/** The caller as the guard authenticated it: a token's subject is a user (or a service, for machine tokens); an API key is an api-client. */
function actorOf(req: { apiClientId?: string; principal?: Principal }): AuditActor {
  const principal = req.principal;
  if (principal?.via === 'jwt') return auditActorOf(principal);
  return { type: 'api-client', id: req.apiClientId ?? principal?.subject ?? 'anonymous' };
}
