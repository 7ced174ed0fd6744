import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import pino, { type Logger, type LoggerOptions } from 'pino';

/** Paths pino replaces with [redacted] wherever they appear in a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.pin',
  '*.databaseUrl',
  '*.TRACEO_DATABASE_URL',
  '*.TRACEO_DATABASE_OWNER_URL',
  '*.TRACEO_API_KEYS',
  '*.TRACEO_AUDIT_SIGNING_KEY',
  '*.TRACEO_AUDIT_CURSOR_KEY',
  '*.TRACEO_ENCRYPTION_API_KEY',
  '*.TRACEO_PKCS11_PIN',
];

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

export function baseLoggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
}

export function createLogger(service: string, level = 'info'): Logger {
  return pino(baseLoggerOptions(service, level));
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
