import { TraceoError } from '@traceo/contracts';

export class ClientExistsError extends TraceoError {
  readonly code = 'AUTH.CLIENT_EXISTS';
  readonly status = 409;
}

export class ClientNotFoundError extends TraceoError {
  readonly code = 'AUTH.CLIENT_NOT_FOUND';
  readonly status = 404;
}

export class AccountExistsError extends TraceoError {
  readonly code = 'AUTH.ACCOUNT_EXISTS';
  readonly status = 409;
}
