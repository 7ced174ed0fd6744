export { httpLoggingParams, PROBE_PATHS } from './http-logging';
export { baseLoggerOptions, createLogger, REDACTED_PATHS, requestIdOf, traceIdOf } from './logger';
export { createMetricsRegistry, httpDurationHistogram } from './metrics';
