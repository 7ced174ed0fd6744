import { TraceoError } from '@traceo/contracts';

export class RequestValidationError extends TraceoError {
  readonly code = 'REQUEST.VALIDATION_FAILED';
  readonly status = 400;
}

export class MalformedRequestError extends TraceoError {
  readonly code = 'REQUEST.MALFORMED';
  readonly status = 400;
}

export class RouteNotFoundError extends TraceoError {
  readonly code = 'REQUEST.NOT_FOUND';
  readonly status = 404;
}
