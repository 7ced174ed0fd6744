import type { AuditRecordV1 } from '@traceo/contracts';

/**
 * Where a Traceo audit action lands in OCSF 1.3.0 (class and activity) and how severe it is. Both the
 * OCSF mapper and the CEF formatter use this, so the two exports always agree. docs/siem-mapping.md
 * has the tables; keep them in step.
 */

export const OCSF_CLASSES = {
  accountChange: { class_uid: 3001, class_name: 'Account Change', category_uid: 3, category_name: 'Identity & Access Management' },
  authentication: { class_uid: 3002, class_name: 'Authentication', category_uid: 3, category_name: 'Identity & Access Management' },
  apiActivity: { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' },
} as const;

export type OcsfClassKey = keyof typeof OCSF_CLASSES;

/** OCSF `activity_id` 99: "The event activity is not mapped. See the activity_name attribute". */
export const OTHER_ACTIVITY = 99;

export interface Classification {
  readonly classKey: OcsfClassKey;
  readonly activity_id: number;
  /** The OCSF caption of activity_id; for 99 (Other) the Traceo action itself, as OCSF asks. */
  readonly activity_name: string;
  /** Authentication only: the action is a multi-factor step. */
  readonly is_mfa?: boolean;
}

const AUTHENTICATION_ACTIVITIES = { 1: 'Logon', 2: 'Logoff' } as const;
const ACCOUNT_CHANGE_ACTIVITIES = {
  1: 'Create',
  2: 'Enable',
  3: 'Password Change',
  4: 'Password Reset',
  5: 'Disable',
  6: 'Delete',
  7: 'Attach Policy',
  8: 'Detach Policy',
  9: 'Lock',
  10: 'MFA Factor Enable',
  11: 'MFA Factor Disable',
} as const;
const API_ACTIVITIES = { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete' } as const;

type ActivityId<T> = keyof T & number;

const authentication = (id: ActivityId<typeof AUTHENTICATION_ACTIVITIES>, isMfa = false): Classification => ({
  classKey: 'authentication',
  activity_id: id,
  activity_name: AUTHENTICATION_ACTIVITIES[id],
  ...(isMfa ? { is_mfa: true } : {}),
});
const accountChange = (id: ActivityId<typeof ACCOUNT_CHANGE_ACTIVITIES>): Classification => ({
  classKey: 'accountChange',
  activity_id: id,
  activity_name: ACCOUNT_CHANGE_ACTIVITIES[id],
});
const apiActivity = (id: ActivityId<typeof API_ACTIVITIES>): Classification => ({
  classKey: 'apiActivity',
  activity_id: id,
  activity_name: API_ACTIVITIES[id],
});
const other = (classKey: OcsfClassKey, action: string): Classification => ({
  classKey,
  activity_id: OTHER_ACTIVITY,
  activity_name: action,
});

/** Exact actions first; the pattern rules below catch the families. */
const EXACT: Readonly<Record<string, Classification>> = {
  'user.signed-in': authentication(1),
  'user.signed-out': authentication(2),
  'session.revoked': authentication(2),
  'session.expired': authentication(2),
  'user.created': accountChange(1),
  'user.enabled': accountChange(2),
  'user.password-changed': accountChange(3),
  'user.password-reset': accountChange(4),
  'user.disabled': accountChange(5),
  'user.suspended': accountChange(5),
  'user.deleted': accountChange(6),
  'user.locked': accountChange(9),
  'role.created': accountChange(1),
  'role.deleted': accountChange(6),
  'role.assigned': accountChange(7),
  'role.granted': accountChange(7),
  'role.revoked': accountChange(8),
  'role.unassigned': accountChange(8),
  'mfa.enrolled': accountChange(10),
  'mfa.enabled': accountChange(10),
  'mfa.factor-added': accountChange(10),
  'mfa.unenrolled': accountChange(11),
  'mfa.disabled': accountChange(11),
  'mfa.removed': accountChange(11),
  'mfa.factor-removed': accountChange(11),
};

const HTTP_METHOD_ACTIVITY: Readonly<Record<string, ActivityId<typeof API_ACTIVITIES>>> = {
  POST: 1,
  GET: 2,
  HEAD: 2,
  PUT: 3,
  PATCH: 3,
  DELETE: 4,
};

/** The verb at the end of a dotted action ("legal-hold.placed" → "placed"), for the API Activity fallback. */
const VERB_ACTIVITY: readonly [RegExp, ActivityId<typeof API_ACTIVITIES>][] = [
  [/(^|-)(created|added|registered)$/, 1],
  [/(^|-)(read|viewed|listed|exported|downloaded)$/, 2],
  [/(^|-)(updated|changed|modified|rotated|renamed)$/, 3],
  [/(^|-)(deleted|removed|purged|expired)$/, 4],
];

/** `GET /v1/audit/records` → `{ method: 'GET', path: '/v1/audit/records' }` (api.request's resource id). */
export function parseHttpRoute(resourceId: string | undefined): { method: string; path: string } | undefined {
  const match = /^([A-Z]+) (\/\S*)$/.exec(resourceId ?? '');
  return match ? { method: match[1]!, path: match[2]! } : undefined;
}

export function classify(record: AuditRecordV1): Classification {
  const action = record.action;
  const exact = EXACT[action];
  if (exact) return exact;
  if (action === 'auth.refresh-token-reused') return other('authentication', action);
  if (/^auth\..*logout/.test(action)) return authentication(2);
  if (/^auth\..*login/.test(action)) return authentication(1);
  // Any other MFA step (challenge, verification, failure) is part of a logon.
  if (action.startsWith('mfa.')) return authentication(1, true);
  if (action.startsWith('user.') || action.startsWith('role.')) return other('accountChange', action);
  if (action === 'api.request') {
    const method = parseHttpRoute(record.resource.id)?.method;
    const id = method ? HTTP_METHOD_ACTIVITY[method] : undefined;
    return id ? apiActivity(id) : other('apiActivity', action);
  }
  const verb = action.slice(action.lastIndexOf('.') + 1);
  const rule = VERB_ACTIVITY.find(([pattern]) => pattern.test(verb));
  return rule ? apiActivity(rule[1]) : other('apiActivity', action);
}

/** OCSF severity_id values (base event). */
export const SEVERITY = { unknown: 0, informational: 1, low: 2, medium: 3, high: 4, critical: 5, fatal: 6 } as const;
export const SEVERITY_NAMES: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'Informational',
  2: 'Low',
  3: 'Medium',
  4: 'High',
  5: 'Critical',
  6: 'Fatal',
};

/** Account changes that widen or remove access: worth a look even when they succeed. */
const PRIVILEGED_CHANGE =
  /^(role\.|user\.(deleted|disabled|suspended|locked|role-changed)$|mfa\.(unenrolled|disabled|removed|factor-removed)$)/;

/**
 * Severity rules, highest wins:
 * - refresh-token reuse (a stolen token family) is High whatever its status;
 * - a risk score of 90+ is Critical, 70+ High, 40+ Medium;
 * - a denied sign-in or account change is Medium; a denied API call or any failure is Low;
 * - a successful privileged account change (role, deletion, lock, MFA removal) is Low;
 * - everything else is Informational.
 */
export function severityOf(record: AuditRecordV1, classification: Classification = classify(record)): number {
  const levels: number[] = [SEVERITY.informational];
  if (record.action === 'auth.refresh-token-reused') levels.push(SEVERITY.high);
  if (record.riskScore !== undefined) {
    if (record.riskScore >= 90) levels.push(SEVERITY.critical);
    else if (record.riskScore >= 70) levels.push(SEVERITY.high);
    else if (record.riskScore >= 40) levels.push(SEVERITY.medium);
  }
  if (record.status === 'denied') levels.push(classification.classKey === 'apiActivity' ? SEVERITY.low : SEVERITY.medium);
  if (record.status === 'failure') levels.push(SEVERITY.low);
  if (record.status === 'success' && PRIVILEGED_CHANGE.test(record.action)) levels.push(SEVERITY.low);
  return Math.max(...levels);
}
