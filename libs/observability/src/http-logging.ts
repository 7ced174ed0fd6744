import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { baseLoggerOptions, requestIdOf, traceIdOf } from './logger';

/** Paths that are probed constantly and never audited or access-logged. */
export const PROBE_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/** nestjs-pino settings: JSON lines with request id, tenant and trace id; probes are not logged. */
export function httpLoggingParams(service: string, level: string): Params {
  return {
    pinoHttp: {
      ...baseLoggerOptions(service, level),
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const id = requestIdOf(req);
        res.setHeader('x-request-id', id);
        return id;
      },
      customProps: (req: IncomingMessage) => ({
        requestId: (req as IncomingMessage & { id?: unknown }).id,
        traceId: traceIdOf(req),
        tenant: (req as IncomingMessage & { tenantId?: string }).tenantId ?? 'platform',
      }),
      autoLogging: { ignore: (req: IncomingMessage) => PROBE_PATHS.test(req.url ?? '') },
      serializers: {
        req: (req: { method?: string; url?: string; id?: unknown }) => ({ id: req.id, method: req.method, url: req.url?.split('?')[0] }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
