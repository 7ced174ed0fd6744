import { TraceoError } from '@traceo/contracts';

/** A refusal of the administration rules (docs/auth-accounts.md), audited as `denied`. */
export abstract class AccountAdminRefusal extends TraceoError {}

/** The caller targets their own account: nobody changes their own roles, state or factors here. */
export class SelfChangeForbiddenError extends AccountAdminRefusal {
  readonly code = 'AUTH.SELF_CHANGE_FORBIDDEN';
  readonly status = 403;
}

/**
 * The calling account is disabled, or its current roles no longer grant the permission: its access
 * token (valid up to 15 minutes) still carries what it had when issued, the database says otherwise.
 */
export class CallerNotActiveError extends AccountAdminRefusal {
  readonly code = 'AUTH.CALLER_NOT_ACTIVE';
  readonly status = 403;
}

/** Only a caller holding `platform-admin` may grant `platform-admin`. */
export class PlatformAdminGrantForbiddenError extends AccountAdminRefusal {
  readonly code = 'AUTH.PLATFORM_ADMIN_GRANT_FORBIDDEN';
  readonly status = 403;
}

/** The change would leave the platform tenant without an enabled platform-admin account. */
export class LastPlatformAdminError extends AccountAdminRefusal {
  readonly code = 'AUTH.LAST_PLATFORM_ADMIN';
  readonly status = 409;
}

/** `service` is for machine clients (client credentials); an account holding it would decrypt without MFA. */
export class RoleNotGrantableError extends AccountAdminRefusal {
  readonly code = 'AUTH.ROLE_NOT_GRANTABLE';
  readonly status = 400;
}
