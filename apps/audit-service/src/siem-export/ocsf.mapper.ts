import { isIP } from 'node:net';
import type { AuditRecordV1 } from '@traceo/contracts';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import { classify, OCSF_CLASSES, parseHttpRoute, SEVERITY_NAMES, severityOf, type Classification } from './siem-classification';

/** The OCSF schema version the events are written against (schema.ocsf.io/1.3.0). */
export const OCSF_VERSION = '1.3.0';

export interface OcsfUser {
  uid: string;
  type?: string;
  type_id?: number;
}

export interface OcsfActor {
  user?: OcsfUser;
  app_name?: string;
  app_uid?: string;
  session?: { uid: string };
}

export interface OcsfMetadata {
  version: string;
  product: { name: string; vendor_name: string; feature: { name: string } };
  uid: string;
  event_code: string;
  correlation_uid?: string;
  log_name: 'audit';
  original_time: string;
  logged_time: number;
  tenant_uid: string;
}

/** One OCSF event: the base attributes every class has, plus the class-specific ones this mapper fills. */
export interface OcsfEvent {
  category_uid: number;
  category_name: string;
  class_uid: number;
  class_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  severity_id: number;
  severity: string;
  status_id: 1 | 2;
  status: 'Success' | 'Failure';
  status_code?: string;
  status_detail?: string;
  time: number;
  message: string;
  metadata: OcsfMetadata;
  actor: OcsfActor;
  /** Authentication: the subject authenticated; Account Change: the user/role changed. */
  user?: OcsfUser;
  /** Account Change: the role attached or detached. */
  policy?: { uid: string; name: string };
  is_mfa?: boolean;
  /** Authentication: the Traceo service the user authenticated to. */
  service?: { name: string };
  /** Authentication only; the other classes carry the session as actor.session. */
  session?: { uid: string };
  src_endpoint?: { ip?: string; location?: { country: string } };
  http_request?: { user_agent?: string; http_method?: string; url?: { path: string } };
  http_response?: { code: number };
  api?: { operation: string; service?: { name: string }; request?: { uid: string } };
  resources?: { type: string; uid?: string }[];
  unmapped?: Record<string, unknown>;
}

const USER = (uid: string): OcsfUser => ({ uid, type: 'User', type_id: 1 });

function actorOf(actor: AuditRecordV1['actor']): OcsfActor {
  switch (actor.type) {
    case 'user':
      return { user: USER(actor.id) };
    case 'system':
      return { user: { uid: actor.id, type: 'System', type_id: 3 } };
    case 'service':
      return { app_name: actor.id };
    case 'api-client':
      return { app_uid: actor.id };
  }
}

/** Who was authenticated: the data subject if named, else a user actor, else a user resource. */
function authenticatedUser(record: AuditRecordV1): OcsfUser {
  if (record.subjectId) return USER(record.subjectId);
  if (record.actor.type === 'user' || record.actor.type === 'system') return actorOf(record.actor).user!;
  if (record.resource.type === 'user' && record.resource.id) return USER(record.resource.id);
  return { uid: record.actor.id, type: 'Unknown', type_id: 0 };
}

/** Which user or role was changed: a user resource, else the data subject, else the resource itself. */
function changedUser(record: AuditRecordV1): OcsfUser {
  if (record.resource.type === 'user' && record.resource.id) return USER(record.resource.id);
  if (record.subjectId) return USER(record.subjectId);
  return { uid: record.resource.id ?? record.resource.type, type: 'Other', type_id: 99 };
}

function resourceOf(record: AuditRecordV1): { type: string; uid?: string } {
  return { type: record.resource.type, ...(record.resource.id ? { uid: record.resource.id } : {}) };
}

/** Fields of the record with no OCSF home, under their Traceo names (snake_case). */
function unmappedOf(entry: LogEntry, extra: Record<string, unknown>): Record<string, unknown> {
  const r = entry.record;
  return {
    leaf_index: entry.index,
    ...extra,
    ...(r.deviceFingerprint !== undefined ? { device_fingerprint: r.deviceFingerprint } : {}),
    ...(r.riskScore !== undefined ? { risk_score: r.riskScore } : {}),
    ...(r.keyVersion !== undefined ? { key_version: r.keyVersion } : {}),
    ...(r.before !== undefined ? { before: r.before } : {}),
    ...(r.after !== undefined ? { after: r.after } : {}),
    ...(r.details !== undefined ? { details: r.details } : {}),
  };
}

function classSpecific(entry: LogEntry, classification: Classification): Partial<OcsfEvent> & { unmappedExtra: Record<string, unknown> } {
  const r = entry.record;
  const session = r.sessionId ? { uid: r.sessionId } : undefined;
  switch (classification.classKey) {
    case 'authentication': {
      const user = authenticatedUser(r);
      const resourceIsUser = r.resource.type === 'user' && r.resource.id === user.uid;
      const resourceIsSession = r.resource.type === 'session' && r.resource.id !== undefined && (!session || session.uid === r.resource.id);
      const authSession = session ?? (resourceIsSession ? { uid: r.resource.id! } : undefined);
      return {
        user,
        service: { name: entry.source.replace(/^\/traceo\//, '') },
        ...(classification.is_mfa ? { is_mfa: true } : {}),
        ...(authSession ? { session: authSession } : {}),
        unmappedExtra: resourceIsUser || resourceIsSession ? {} : { resource: resourceOf(r) },
      };
    }
    case 'accountChange': {
      const user = changedUser(r);
      const isRole = r.resource.type === 'role' && r.resource.id !== undefined;
      const resourceUsed = isRole || (r.resource.type === 'user' && r.resource.id !== undefined) || !r.subjectId;
      const subjectUsed = r.subjectId === undefined || r.subjectId === user.uid;
      return {
        user,
        ...(isRole ? { policy: { uid: r.resource.id!, name: r.resource.id! } } : {}),
        unmappedExtra: { ...(resourceUsed ? {} : { resource: resourceOf(r) }), ...(subjectUsed ? {} : { subject_id: r.subjectId }) },
      };
    }
    case 'apiActivity': {
      const route = r.action === 'api.request' && r.resource.type === 'http-route' ? parseHttpRoute(r.resource.id) : undefined;
      const service = typeof r.details?.service === 'string' ? r.details.service : undefined;
      const httpRequest = {
        ...(r.userAgent !== undefined ? { user_agent: r.userAgent } : {}),
        ...(route ? { http_method: route.method, url: { path: route.path } } : {}),
      };
      return {
        api: {
          operation: route ? `${route.method} ${route.path}` : r.action,
          ...(service ? { service: { name: service } } : {}),
          ...(r.requestId ? { request: { uid: r.requestId } } : {}),
        },
        resources: [resourceOf(r)],
        ...(Object.keys(httpRequest).length > 0 ? { http_request: httpRequest } : {}),
        ...(route && r.resultCode && /^[1-5]\d\d$/.test(r.resultCode) ? { http_response: { code: Number(r.resultCode) } } : {}),
        unmappedExtra: r.subjectId ? { subject_id: r.subjectId } : {},
      };
    }
  }
}

function messageOf(r: AuditRecordV1): string {
  const target = r.resource.id ? `${r.resource.type} ${r.resource.id}` : r.resource.type;
  return `${r.action} by ${r.actor.type} ${r.actor.id} on ${target}: ${r.status}${r.resultCode ? ` (${r.resultCode})` : ''}`;
}

/**
 * Maps one audit log entry to an OCSF 1.3.0 event of class Authentication (3002), Account Change
 * (3001) or API Activity (6003). Pure: the same entry always gives the same event. Field by field
 * in docs/siem-mapping.md.
 */
export function toOcsf(entry: LogEntry): OcsfEvent {
  const r = entry.record;
  const classification = classify(r);
  const cls = OCSF_CLASSES[classification.classKey];
  const severityId = severityOf(r, classification);
  const { unmappedExtra, http_request: apiHttpRequest, ...specific } = classSpecific(entry, classification);
  const actor = actorOf(r.actor);
  if (r.sessionId && classification.classKey !== 'authentication') actor.session = { uid: r.sessionId };
  const srcEndpoint = {
    ...(r.ip !== undefined && isIP(r.ip) ? { ip: r.ip } : {}),
    ...(r.country !== undefined ? { location: { country: r.country } } : {}),
  };
  const httpRequest = apiHttpRequest ?? (r.userAgent !== undefined ? { user_agent: r.userAgent } : undefined);
  return {
    category_uid: cls.category_uid,
    category_name: cls.category_name,
    class_uid: cls.class_uid,
    class_name: cls.class_name,
    activity_id: classification.activity_id,
    activity_name: classification.activity_name,
    type_uid: cls.class_uid * 100 + classification.activity_id,
    type_name: `${cls.class_name}: ${classification.activity_name}`,
    severity_id: severityId,
    severity: SEVERITY_NAMES[severityId] ?? 'Unknown',
    status_id: r.status === 'success' ? 1 : 2,
    status: r.status === 'success' ? 'Success' : 'Failure',
    ...(r.resultCode !== undefined ? { status_code: r.resultCode } : {}),
    ...(r.status === 'denied' ? { status_detail: r.resultCode ? `Denied (${r.resultCode})` : 'Denied' } : {}),
    time: Date.parse(r.occurredAt),
    message: messageOf(r),
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Traceo', vendor_name: 'Traceo', feature: { name: entry.source } },
      uid: entry.eventId,
      event_code: r.action,
      ...(r.requestId ? { correlation_uid: r.requestId } : {}),
      log_name: 'audit',
      original_time: r.occurredAt,
      logged_time: Date.parse(entry.receivedAt),
      tenant_uid: entry.tenant,
    },
    actor,
    ...specific,
    ...(Object.keys(srcEndpoint).length > 0 ? { src_endpoint: srcEndpoint } : {}),
    ...(httpRequest ? { http_request: httpRequest } : {}),
    unmapped: unmappedOf(entry, unmappedExtra),
  };
}
