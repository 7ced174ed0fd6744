export { httpLoggingParams, PROBE_PATHS } from './http-logging';
export { baseLoggerOptions, createLogger, requestIdOf, traceIdOf } from './logger';
export { CENSOR, isSecretName, redactSecrets, SECRET_NAMES } from './redaction';
export { createMetricsRegistry, httpDurationHistogram } from './metrics';
