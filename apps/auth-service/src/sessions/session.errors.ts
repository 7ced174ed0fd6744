import { TraceoError } from '@traceo/contracts';

export class AccountNotFoundError extends TraceoError {
  readonly code = 'AUTH.ACCOUNT_NOT_FOUND';
  readonly status = 404;
}
