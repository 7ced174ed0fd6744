import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactSecrets } from './redaction';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

export function baseLoggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    // Secrets are censored before serializers run (redaction.ts); pino's `redact` option is not used.
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redactSecrets(bindings),
      log: (object) => redactSecrets(object),
    },
  };
}

/** `destination`: stdout when absent (tests pass a stream to read the lines). */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const logger = destination ? pino(baseLoggerOptions(service, level), destination) : pino(baseLoggerOptions(service, level));
  return censorChildBindings(logger);
}

/**
 * pino applies `formatters.bindings` to the root logger's base bindings only, not to a child's: the
 * logger and its descendants (which inherit this own property) censor child bindings here instead.
 * The HTTP request loggers of nestjs-pino are pino-http's children, bound to the request (serialized
 * by http-logging.ts's whitelist), its id, trace id and tenant.
 */
function censorChildBindings(logger: Logger): Logger {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each descendant as `this`
  const child = logger.child;
  logger.child = function censoredChild(this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings), options);
  } as Logger['child'];
  return logger;
}

/** Accepts a caller's X-Request-Id only when it is a plain token; otherwise issues a fresh one. */
export function requestIdOf(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** W3C trace id from the traceparent header, when there is a well-formed one. */
export function traceIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers.traceparent;
  return typeof header === 'string' ? TRACEPARENT.exec(header)?.[1] : undefined;
}
