export type RateLimitErrorCode = 'RATE_LIMIT.INVALID_CONFIG' | 'RATE_LIMIT.UNKNOWN_RULE';

/**
 * Failures of this lib's own API (not decisions: a refused request is a decision, never an error).
 * `INVALID_CONFIG`: the configuration was refused at construction; `issues` names every bad field.
 * `UNKNOWN_RULE`: a check named a rule the limiter was not built with. Messages carry field names and
 * rule names only, never identifiers or credentials.
 */
export class RateLimitError extends Error {
  constructor(
    readonly code: RateLimitErrorCode,
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}
