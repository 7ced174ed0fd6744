export { baseConfigSchema, ConfigurationError, loadConfig, type BaseConfig } from './config';
export { EventPublisher, type AuditEntry } from './event-publisher';
export { BATCH, InboxContext, inboxManagerOf, InboxTransport } from './inbox.transport';
export { ProblemDetailsFilter, type ProblemDetails } from './problem-details.filter';
export { MalformedRequestError, RequestValidationError, RouteNotFoundError } from './request-errors';
export { runService, startService, type RunningService, type ServiceDefinition } from './run-service';
export { ServiceKitModule } from './service-kit.module';
export { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';
export { ZodValidationPipe } from './zod-validation.pipe';
