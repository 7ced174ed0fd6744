import { TraceoError } from '@traceo/contracts';

export class AccountNotFoundError extends TraceoError {
  readonly code = 'AUTH.ACCOUNT_NOT_FOUND';
  readonly status = 404;
}

export class SessionNotFoundError extends TraceoError {
  readonly code = 'AUTH.SESSION_NOT_FOUND';
  readonly status = 404;
}
