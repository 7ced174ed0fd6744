import { TraceoError } from '@traceo/contracts';

/** Filters that are each well-formed but contradict one another (from after to, min above max). */
export class InvalidFilterError extends TraceoError {
  readonly code = 'AUDIT.INVALID_FILTER';
  readonly status = 400;
}

/** A page cursor that this service did not issue for this search: malformed, altered, or another tenant's. */
export class InvalidCursorError extends TraceoError {
  readonly code = 'AUDIT.INVALID_CURSOR';
  readonly status = 400;
}
