import type { QueryRunner } from 'typeorm';

export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

export interface RoleGrant {
  /** `app` → the role `<owner>_app` the service runs as; `verifier` → `<owner>_verifier`. */
  readonly role: 'app' | 'verifier';
  readonly tables: readonly string[];
  readonly privileges: readonly TablePrivilege[];
  /** Sequences behind bigserial columns the role inserts into. */
  readonly sequences?: readonly string[];
}

/**
 * Grants table privileges to the service's runtime roles, found by convention: a schema owned by
 * `traceo_audit` runs as `traceo_audit_app` (and is verified by `traceo_audit_verifier`). When the
 * migration runs as a role without such companions (tests, single-role set-ups) nothing is granted.
 * The owner keeps DDL; the runtime role gets only what is listed here.
 */
export async function grantToRuntimeRoles(queryRunner: QueryRunner, grants: readonly RoleGrant[]): Promise<void> {
  for (const grant of grants) {
    const statements = [
      `EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), grantee)`,
      `EXECUTE format('GRANT ${grant.privileges.join(', ')} ON ${grant.tables.map(() => '%I').join(', ')} TO %I', ${grant.tables.map((t) => `'${t}'`).join(', ')}, grantee)`,
      ...(grant.sequences ?? []).map((sequence) => `EXECUTE format('GRANT USAGE ON SEQUENCE %I TO %I', '${sequence}', grantee)`),
    ];
    await queryRunner.query(`
      DO $$
      DECLARE grantee text := current_user || '_${grant.role}';
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee) THEN
          ${statements.join(';\n          ')};
        END IF;
      END $$`);
  }
}
