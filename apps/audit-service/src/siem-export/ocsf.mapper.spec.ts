import type { AuditRecordV1 } from '@traceo/contracts';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import { toOcsf, type OcsfEvent } from './ocsf.mapper';
import { classify } from './siem-classification';

let nextIndex = 0;
const entry = (record: Omit<AuditRecordV1, 'occurredAt'> & { occurredAt?: string }, source = '/traceo/auth-service'): LogEntry => ({
  v: 1,
  tenant: 'acme',
  index: nextIndex++,
  eventId: `0195d2f4-7c1e-7000-8000-${String(nextIndex).padStart(12, '0')}`,
  source,
  occurredAt: record.occurredAt ?? '2026-11-24T12:00:00.000Z',
  receivedAt: '2026-11-24T12:00:00.250Z',
  record: { occurredAt: '2026-11-24T12:00:00.000Z', ...record },
});

const signIn = entry({
  actor: { type: 'user', id: 'u-123' },
  action: 'user.signed-in',
  resource: { type: 'session', id: 's-9f2' },
  status: 'success',
  requestId: 'req-1',
  sessionId: 's-9f2',
  subjectId: 'u-123',
  ip: '203.0.113.7',
  country: 'DE',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
});

const deniedSignIn = entry({
  actor: { type: 'api-client', id: 'web-app' },
  action: 'user.signed-in',
  resource: { type: 'user', id: 'u-123' },
  status: 'denied',
  resultCode: 'AUTH.INVALID_CREDENTIALS',
  subjectId: 'u-123',
  ip: '198.51.100.23',
  riskScore: 45,
  deviceFingerprint: 'fp-77a1',
  userAgent: 'curl/8.5.0',
});

const userCreated = entry({
  actor: { type: 'user', id: 'admin-1' },
  action: 'user.created',
  resource: { type: 'user', id: 'u-456' },
  status: 'success',
  requestId: 'req-2',
  sessionId: 'admin-session-1',
  ip: '2001:db8::1',
  after: { email: 'new.user@example.com', roles: ['member'] },
});

// As recorded by service-kit's HTTP audit middleware.
const apiRequest = entry(
  {
    occurredAt: '2026-11-24T12:22:33.648Z',
    actor: { type: 'api-client', id: 'anonymous' },
    action: 'api.request',
    resource: { type: 'http-route', id: 'GET /v1/audit/records' },
    status: 'failure',
    resultCode: '400',
    requestId: '3a8192a3-e97f-4e6b-8e77-6621d9d33649',
    ip: '127.0.0.1',
    userAgent: 'node',
    details: { service: 'audit-service' },
  },
  '/traceo/audit-service',
);

const refreshTokenReused = entry({
  actor: { type: 'user', id: 'u-123' },
  action: 'auth.refresh-token-reused',
  resource: { type: 'refresh-token-family', id: 'rtf-31' },
  status: 'denied',
  resultCode: 'AUTH.REFRESH_TOKEN_REUSED',
  sessionId: 's-9f2',
  ip: '192.0.2.44',
});

const roleAssigned = entry({
  actor: { type: 'user', id: 'admin-1' },
  action: 'role.assigned',
  resource: { type: 'role', id: 'auditor' },
  status: 'success',
  subjectId: 'u-456',
});

const serviceStarted = entry(
  {
    actor: { type: 'service', id: 'audit-service' },
    action: 'service.started',
    resource: { type: 'service', id: 'audit-service' },
    status: 'success',
  },
  '/traceo/audit-service',
);

const siemExported = entry(
  {
    actor: { type: 'api-client', id: 'anonymous' },
    action: 'audit.siem-exported',
    resource: { type: 'audit-log', id: 'acme' },
    status: 'success',
    details: { format: 'cef', count: 42 },
  },
  '/traceo/audit-service',
);

const mfaFailed = entry({
  actor: { type: 'user', id: 'u-123' },
  action: 'mfa.verification-failed',
  resource: { type: 'mfa-factor', id: 'totp-1' },
  status: 'failure',
  keyVersion: 'k-3',
});

const ALL: Record<string, LogEntry> = {
  signIn,
  deniedSignIn,
  userCreated,
  apiRequest,
  refreshTokenReused,
  roleAssigned,
  serviceStarted,
  siemExported,
  mfaFailed,
};

describe('OCSF mapping', () => {
  it('maps a successful sign-in to Authentication: Logon with the user, session, endpoint and user agent', () => {
    expect(toOcsf(signIn)).toEqual({
      category_uid: 3,
      category_name: 'Identity & Access Management',
      class_uid: 3002,
      class_name: 'Authentication',
      activity_id: 1,
      activity_name: 'Logon',
      type_uid: 300201,
      type_name: 'Authentication: Logon',
      severity_id: 1,
      severity: 'Informational',
      status_id: 1,
      status: 'Success',
      time: Date.parse('2026-11-24T12:00:00.000Z'),
      message: 'user.signed-in by user u-123 on session s-9f2: success',
      metadata: {
        version: '1.3.0',
        product: { name: 'Traceo', vendor_name: 'Traceo', feature: { name: '/traceo/auth-service' } },
        uid: signIn.eventId,
        event_code: 'user.signed-in',
        correlation_uid: 'req-1',
        log_name: 'audit',
        original_time: '2026-11-24T12:00:00.000Z',
        logged_time: Date.parse('2026-11-24T12:00:00.250Z'),
        tenant_uid: 'acme',
      },
      actor: { user: { uid: 'u-123', type: 'User', type_id: 1 } },
      user: { uid: 'u-123', type: 'User', type_id: 1 },
      service: { name: 'auth-service' },
      session: { uid: 's-9f2' },
      src_endpoint: { ip: '203.0.113.7', location: { country: 'DE' } },
      http_request: { user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
      unmapped: { leaf_index: signIn.index },
    });
  });

  it('maps a denied sign-in to a failed Logon with the denial in status_detail and a raised severity', () => {
    const event = toOcsf(deniedSignIn);
    expect(event).toMatchObject({
      class_uid: 3002,
      activity_id: 1,
      type_uid: 300201,
      status_id: 2,
      status: 'Failure',
      status_code: 'AUTH.INVALID_CREDENTIALS',
      status_detail: 'Denied (AUTH.INVALID_CREDENTIALS)',
      severity_id: 3,
      severity: 'Medium',
      actor: { app_uid: 'web-app' },
      user: { uid: 'u-123', type: 'User', type_id: 1 },
      src_endpoint: { ip: '198.51.100.23' },
      http_request: { user_agent: 'curl/8.5.0' },
    });
    expect(event.unmapped).toEqual({
      leaf_index: deniedSignIn.index,
      risk_score: 45,
      device_fingerprint: 'fp-77a1',
    });
  });

  it('maps user.created to Account Change: Create with the new user as the target and the actor as who did it', () => {
    const event = toOcsf(userCreated);
    expect(event).toMatchObject({
      category_uid: 3,
      class_uid: 3001,
      class_name: 'Account Change',
      activity_id: 1,
      activity_name: 'Create',
      type_uid: 300101,
      status_id: 1,
      severity_id: 1,
      actor: { user: { uid: 'admin-1', type: 'User', type_id: 1 }, session: { uid: 'admin-session-1' } },
      user: { uid: 'u-456', type: 'User', type_id: 1 },
      src_endpoint: { ip: '2001:db8::1' },
      metadata: { correlation_uid: 'req-2' },
    });
    expect(event.session).toBeUndefined();
    expect(event.unmapped).toEqual({ leaf_index: userCreated.index, after: { email: 'new.user@example.com', roles: ['member'] } });
  });

  it('maps api.request to API Activity with the operation, request id, HTTP method, path, status code, client ip and user agent', () => {
    const event = toOcsf(apiRequest);
    expect(event).toMatchObject({
      category_uid: 6,
      category_name: 'Application Activity',
      class_uid: 6003,
      class_name: 'API Activity',
      activity_id: 2,
      activity_name: 'Read',
      type_uid: 600302,
      status_id: 2,
      status: 'Failure',
      status_code: '400',
      severity_id: 2,
      time: Date.parse('2026-11-24T12:22:33.648Z'),
      actor: { app_uid: 'anonymous' },
      api: {
        operation: 'GET /v1/audit/records',
        service: { name: 'audit-service' },
        request: { uid: '3a8192a3-e97f-4e6b-8e77-6621d9d33649' },
      },
      http_request: { user_agent: 'node', http_method: 'GET', url: { path: '/v1/audit/records' } },
      http_response: { code: 400 },
      src_endpoint: { ip: '127.0.0.1' },
      resources: [{ type: 'http-route', uid: 'GET /v1/audit/records' }],
      metadata: { product: { feature: { name: '/traceo/audit-service' } } },
    });
    expect(event.status_detail).toBeUndefined();
  });

  it('maps refresh-token reuse to Authentication with the action as activity_name and High severity', () => {
    expect(toOcsf(refreshTokenReused)).toMatchObject({
      class_uid: 3002,
      activity_id: 99,
      activity_name: 'auth.refresh-token-reused',
      type_uid: 300299,
      type_name: 'Authentication: auth.refresh-token-reused',
      severity_id: 4,
      severity: 'High',
      status_id: 2,
      status_detail: 'Denied (AUTH.REFRESH_TOKEN_REUSED)',
      user: { uid: 'u-123' },
      session: { uid: 's-9f2' },
    });
  });

  it('maps a role assignment to Account Change: Attach Policy with the role as the policy and the subject as the user', () => {
    expect(toOcsf(roleAssigned)).toMatchObject({
      class_uid: 3001,
      activity_id: 7,
      activity_name: 'Attach Policy',
      type_uid: 300107,
      user: { uid: 'u-456' },
      policy: { uid: 'auditor', name: 'auditor' },
      severity_id: 2,
    });
  });

  it('marks MFA steps as multi-factor Logon attempts and keeps fields without an OCSF home under unmapped', () => {
    const event = toOcsf(mfaFailed);
    expect(event).toMatchObject({ class_uid: 3002, activity_id: 1, is_mfa: true, status_id: 2, severity_id: 2 });
    expect(event.unmapped).toEqual({ leaf_index: mfaFailed.index, resource: { type: 'mfa-factor', uid: 'totp-1' }, key_version: 'k-3' });
  });

  it('names a service actor by app_name and falls back to API Activity: Other for actions without a known verb', () => {
    expect(toOcsf(serviceStarted)).toMatchObject({
      class_uid: 6003,
      activity_id: 99,
      activity_name: 'service.started',
      type_uid: 600399,
      actor: { app_name: 'audit-service' },
      api: { operation: 'service.started' },
    });
    expect(toOcsf(siemExported)).toMatchObject({
      class_uid: 6003,
      activity_id: 2,
      activity_name: 'Read',
      unmapped: { details: { format: 'cef', count: 42 } },
    });
  });

  it.each([
    ['user.signed-in', 3002, 1],
    ['user.signed-out', 3002, 2],
    ['auth.login-failed', 3002, 1],
    ['auth.sso.login', 3002, 1],
    ['auth.logout', 3002, 2],
    ['session.revoked', 3002, 2],
    ['mfa.challenge-sent', 3002, 1],
    ['auth.refresh-token-reused', 3002, 99],
    ['user.created', 3001, 1],
    ['user.password-changed', 3001, 3],
    ['user.password-reset', 3001, 4],
    ['user.disabled', 3001, 5],
    ['user.deleted', 3001, 6],
    ['role.revoked', 3001, 8],
    ['user.locked', 3001, 9],
    ['mfa.enrolled', 3001, 10],
    ['mfa.removed', 3001, 11],
    ['user.email-changed', 3001, 99],
    ['role.updated', 3001, 99],
    ['legal-hold.placed', 6003, 99],
    ['key.rotated', 6003, 3],
    ['dsr.exported', 6003, 2],
    ['audit.retention-expired', 6003, 4],
    ['consent.created', 6003, 1],
  ])('classifies %s as class %i activity %i', (action, classUid, activityId) => {
    const event = toOcsf(
      entry({ actor: { type: 'system', id: 'scheduler' }, action, resource: { type: 'thing', id: 't-1' }, status: 'success' }),
    );
    expect([event.class_uid, event.activity_id]).toEqual([classUid, activityId]);
  });

  it.each([
    ['POST', 1],
    ['GET', 2],
    ['HEAD', 2],
    ['PUT', 3],
    ['PATCH', 3],
    ['DELETE', 4],
    ['OPTIONS', 99],
  ])('takes the API Activity of api.request from its HTTP method (%s → %i)', (method, activityId) => {
    const record: AuditRecordV1 = {
      occurredAt: '2026-11-24T12:00:00.000Z',
      actor: { type: 'api-client', id: 'anonymous' },
      action: 'api.request',
      resource: { type: 'http-route', id: `${method} /v1/audit/legal-holds` },
      status: 'success',
    };
    expect(classify(record)).toMatchObject({ classKey: 'apiActivity', activity_id: activityId });
  });

  it('raises severity with the risk score', () => {
    const risky = (riskScore: number) =>
      toOcsf(
        entry({ actor: { type: 'user', id: 'u-1' }, action: 'user.signed-in', resource: { type: 'user' }, status: 'success', riskScore }),
      ).severity_id;
    expect([risky(10), risky(40), risky(70), risky(90)]).toEqual([1, 3, 4, 5]);
  });

  describe.each(Object.entries(ALL))('%s', (_name, logEntry) => {
    let event: OcsfEvent;
    beforeAll(() => {
      event = toOcsf(logEntry);
    });

    it('carries every required base attribute, and type_uid is class_uid * 100 + activity_id', () => {
      expect(event.category_uid).toEqual(Math.floor(event.class_uid / 1000));
      for (const attribute of ['category_uid', 'class_uid', 'activity_id', 'type_uid', 'severity_id', 'status_id', 'time'] as const)
        expect(Number.isInteger(event[attribute])).toBe(true);
      expect(event.type_uid).toBe(event.class_uid * 100 + event.activity_id);
      expect(event.metadata.version).toBe('1.3.0');
      expect(event.metadata.product).toEqual({ name: 'Traceo', vendor_name: 'Traceo', feature: { name: logEntry.source } });
      expect(event.metadata.uid).toBe(logEntry.eventId);
      expect(event.time).toBe(Date.parse(logEntry.record.occurredAt));
    });

    it('fills what its class requires (user for IAM classes, api and actor for API Activity)', () => {
      if (event.class_uid === 6003) {
        expect(event.api?.operation).toEqual(expect.any(String));
        expect(Object.keys(event.actor).length).toBeGreaterThan(0);
      } else {
        expect(event.user?.uid).toEqual(expect.any(String));
      }
    });

    it('survives JSON serialisation unchanged and does not alter the entry', () => {
      const before = JSON.stringify(logEntry);
      expect(JSON.parse(JSON.stringify(event))).toEqual(event);
      expect(JSON.stringify(logEntry)).toBe(before);
      expect(toOcsf(logEntry)).toEqual(event);
    });
  });
});
