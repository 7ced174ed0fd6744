/** How long a record is kept depends on what it is evidence of. */
export const RETENTION_CLASSES = ['security-operations', 'default', 'compliance'] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

const COMPLIANCE = /^(audit|compliance|dsr|key|crypto\.key|retention|legal-hold|role|user\.(created|deleted|role-changed)|consent)(\.|-|$)/;
const SECURITY_OPERATIONS = /^(api|risk|gateway|rate-limit|session)\./;

/**
 * Compliance evidence (the log's own operations, key lifecycle, data-subject requests, account and
 * role changes) is kept longest; high-volume operational telemetry (API calls, risk and gateway
 * signals) shortest; everything else, such as sign-ins, by the default policy.
 */
export function retentionClassOf(action: string): RetentionClass {
  if (COMPLIANCE.test(action)) return 'compliance';
  if (SECURITY_OPERATIONS.test(action)) return 'security-operations';
  return 'default';
}
