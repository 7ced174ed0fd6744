import type { AuditRecordV1 } from '@traceo/contracts';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import { cefName, escapeCefExtension, escapeCefHeader, parseCefHeader, syslogSeverity, toCef, toSyslog } from './cef.formatter';

const entry = (record: Omit<AuditRecordV1, 'occurredAt'>, index = 7): LogEntry => ({
  v: 1,
  tenant: 'acme',
  index,
  eventId: '0195d2f4-7c1e-7000-8000-000000000007',
  source: '/traceo/auth-service',
  occurredAt: '2026-11-24T12:00:00.000Z',
  receivedAt: '2026-11-24T12:00:00.250Z',
  record: { occurredAt: '2026-11-24T12:00:00.000Z', ...record },
});

/**
 * Reads a CEF extension back the way a consumer does: a key is the word before an unescaped `=`,
 * its value runs to the space before the next key; then the escapes are undone.
 */
function parseExtension(extension: string): Record<string, string> {
  const equals: number[] = [];
  for (let i = 0; i < extension.length; i++) {
    if (extension[i] === '\\') i++;
    else if (extension[i] === '=') equals.push(i);
  }
  const keyStarts = equals.map((at) => extension.lastIndexOf(' ', at) + 1);
  const pairs: Record<string, string> = {};
  equals.forEach((at, n) => {
    const key = extension.slice(keyStarts[n], at);
    const raw = extension.slice(at + 1, n + 1 < equals.length ? keyStarts[n + 1]! - 1 : extension.length);
    pairs[key] = raw.replace(/\\(.)/g, (_match, char: string) => ({ n: '\n', r: '\r' })[char] ?? char);
  });
  return pairs;
}

const cef = (record: Omit<AuditRecordV1, 'occurredAt'>) => {
  const line = toCef(entry(record));
  const { fields, extension } = parseCefHeader(line);
  return { line, fields, ext: parseExtension(extension) };
};

const signIn: Omit<AuditRecordV1, 'occurredAt'> = {
  actor: { type: 'user', id: 'u-123' },
  action: 'user.signed-in',
  resource: { type: 'session', id: 's-9f2' },
  status: 'success',
  requestId: 'req-1',
  sessionId: 's-9f2',
  subjectId: 'u-123',
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
};

describe('CEF formatting', () => {
  it('writes the CEF:0 header with the action as signature id, a readable name and the severity', () => {
    const { line, fields } = cef(signIn);
    expect(line.startsWith('CEF:0|Traceo|Traceo|1.0|user.signed-in|User signed in|1|')).toBe(true);
    expect(fields).toEqual(['CEF:0', 'Traceo', 'Traceo', '1.0', 'user.signed-in', 'User signed in', '1']);
  });

  it('carries the record in standard extension keys', () => {
    expect(cef(signIn).ext).toEqual({
      rt: String(Date.parse('2026-11-24T12:00:00.000Z')),
      cat: 'Authentication',
      act: 'user.signed-in',
      outcome: 'success',
      suid: 'u-123',
      suser: 'u-123',
      duid: 'u-123',
      src: '203.0.113.7',
      requestClientApplication: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
      externalId: '0195d2f4-7c1e-7000-8000-000000000007',
      cs1: 'acme',
      cs1Label: 'tenant',
      cs2: '/traceo/auth-service',
      cs2Label: 'source',
      cs3: 'req-1',
      cs3Label: 'requestId',
      cs4: 's-9f2',
      cs4Label: 'sessionId',
      cs5: 'session:s-9f2',
      cs5Label: 'resource',
      cs6: 'user',
      cs6Label: 'actorType',
      cn2: '7',
      cn2Label: 'leafIndex',
      deviceCustomDate1: String(Date.parse('2026-11-24T12:00:00.250Z')),
      deviceCustomDate1Label: 'receivedAt',
      msg: 'user.signed-in by user u-123: success',
    });
  });

  it('gives api.request its HTTP method, route and status, and a denied call Low severity', () => {
    const { fields, ext } = cef({
      actor: { type: 'api-client', id: 'anonymous' },
      action: 'api.request',
      resource: { type: 'http-route', id: 'DELETE /v1/audit/legal-holds/:holdId' },
      status: 'denied',
      resultCode: '403',
      requestId: '3a8192a3-e97f-4e6b-8e77-6621d9d33649',
      ip: '127.0.0.1',
      userAgent: 'node',
    });
    expect(fields[5]).toBe('API request');
    expect(fields[6]).toBe('3');
    expect(ext).toMatchObject({
      cat: 'API Activity',
      requestMethod: 'DELETE',
      request: '/v1/audit/legal-holds/:holdId',
      outcome: 'denied',
      reason: '403',
      suid: 'anonymous',
      cs6: 'api-client',
    });
    expect(ext.suser).toBeUndefined();
  });

  it('puts an IPv6 client address in c6a2, not src, and the rounded risk score in cn1 with a raised severity', () => {
    const { fields, ext } = cef({ ...signIn, ip: '2001:db8::7', riskScore: 72.6 });
    expect(ext).toMatchObject({ c6a2: '2001:db8::7', c6a2Label: 'Source IPv6 Address', cn1: '73', cn1Label: 'riskScore' });
    expect(ext.src).toBeUndefined();
    expect(fields[6]).toBe('8');
  });

  it('marks refresh-token reuse High and a denied sign-in Medium', () => {
    const reuse = cef({ ...signIn, action: 'auth.refresh-token-reused', status: 'denied', resultCode: 'AUTH.REFRESH_TOKEN_REUSED' });
    expect(reuse.fields.slice(4)).toEqual(['auth.refresh-token-reused', 'Auth refresh token reused', '8']);
    expect(cef({ ...signIn, status: 'denied' }).fields[6]).toBe('5');
  });

  describe('escaping', () => {
    it('escapes backslash and pipe in header fields and keeps line breaks out of the header', () => {
      expect(escapeCefHeader('a|b\\c')).toBe('a\\|b\\\\c');
      expect(escapeCefHeader('one\r\ntwo\nthree')).toBe('one two three');
      expect(escapeCefHeader('a=b')).toBe('a=b');
    });

    it('escapes backslash, equals sign and line breaks in extension values but leaves pipes alone', () => {
      expect(escapeCefExtension('a=b\\c|d\ne\rf')).toBe('a\\=b\\\\c|d\\ne\\rf');
    });

    it('turns other control characters into spaces', () => {
      expect(escapeCefExtension('a\u0000b\tc\u001bd\u007f')).toBe('a b c d ');
      expect(escapeCefHeader('a\u0000b')).toBe('a b');
    });

    it('round-trips hostile values: pipes, backslashes, equals signs, newlines, fake keys', () => {
      const userAgent = 'Evil|Agent\\1.0 msg=spoofed cs1=other\r\nCEF:0|x|y|z|1|n|10|act=forged';
      const resourceId = 'C:\\Users\\admin|a=b==c\\';
      const { line, fields, ext } = cef({ ...signIn, userAgent, resource: { type: 'file', id: resourceId } });
      expect(line).not.toMatch(/[\r\n]/);
      expect(fields).toHaveLength(7);
      expect(ext.requestClientApplication).toBe(userAgent);
      expect(ext.cs5).toBe(`file:${resourceId}`);
      expect(ext.msg).toBe('user.signed-in by user u-123: success');
      expect(ext.cs1).toBe('acme');
      expect(ext.act).toBe('user.signed-in');
    });

    it('passes non-ASCII text through as UTF-8', () => {
      const { line, ext } = cef({ ...signIn, actor: { type: 'user', id: 'zoë@例え.jp' }, userAgent: 'Ünïcødé 🚀 агент' });
      expect(ext.suid).toBe('zoë@例え.jp');
      expect(ext.requestClientApplication).toBe('Ünïcødé 🚀 агент');
      expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line);
    });
  });

  it.each([
    ['user.signed-in', 'User signed in'],
    ['api.request', 'API request'],
    ['mfa.enrolled', 'MFA enrolled'],
    ['audit.siem-exported', 'Audit SIEM exported'],
  ])('names %s "%s"', (action, name) => {
    expect(cefName(action)).toBe(name);
  });
});

describe('RFC 5424 syslog framing', () => {
  const line = toCef(entry(signIn));
  const options = { hostname: 'audit-1.traceo.internal', timestamp: new Date('2026-11-24T12:00:01.123Z') };

  it('writes PRI, version 1, timestamp, hostname, app name, nil procid, the signature id as MSGID, nil SD and the CEF line', () => {
    expect(toSyslog(line, options)).toBe(`<86>1 2026-11-24T12:00:01.123Z audit-1.traceo.internal traceo-audit - user.signed-in - ${line}`);
  });

  it('computes PRI as facility * 8 + severity for authpriv (10) and local4 (20)', () => {
    const high = toCef(entry({ ...signIn, riskScore: 75 }));
    const critical = toCef(entry({ ...signIn, riskScore: 95 }));
    expect(toSyslog(high, options).slice(0, 6)).toBe('<83>1 '); // 10 * 8 + 3 (Error)
    expect(toSyslog(high, { ...options, facility: 'local4' }).slice(0, 7)).toBe('<163>1 '); // 20 * 8 + 3
    expect(toSyslog(critical, options).slice(0, 6)).toBe('<82>1 '); // 10 * 8 + 2 (Critical)
    expect(toSyslog(line, { ...options, facility: 'local4' }).slice(0, 7)).toBe('<166>1 '); // 20 * 8 + 6 (Informational)
  });

  it.each([
    [0, 6],
    [1, 6],
    [3, 5],
    [5, 4],
    [8, 3],
    [10, 2],
  ])('maps CEF severity %i to syslog severity %i', (cefSeverity, severity) => {
    expect(syslogSeverity(cefSeverity)).toBe(severity);
  });

  it('reads the severity past escaped pipes in the header, and accepts the word severities', () => {
    expect(toSyslog('CEF:0|Ven\\|dor|Prod\\\\|1|sig|na\\|me|7|a=b', options).slice(0, 6)).toBe('<83>1 ');
    expect(toSyslog('CEF:0|V|P|1|sig|name|Very-High|a=b', options).slice(0, 6)).toBe('<82>1 ');
  });

  it('prefixes a MSG with non-ASCII characters with the UTF-8 BOM and leaves ASCII alone', () => {
    const unicode = toCef(entry({ ...signIn, userAgent: 'Zoë' }));
    expect(toSyslog(unicode, options).endsWith(` - \uFEFF${unicode}`)).toBe(true);
    expect(toSyslog(line, options)).not.toContain('\uFEFF');
  });

  it('keeps header fields printable US-ASCII and within their lengths', () => {
    const message = toSyslog(line, { ...options, hostname: 'bad host\n', appName: 'a'.repeat(60), procId: '' });
    expect(message.split(' ').slice(2, 5)).toEqual(['badhost', 'a'.repeat(48), '-']);
    expect(toSyslog(line, { ...options, hostname: '' }).split(' ')[2]).toBe('-');
    const longAction = toCef(entry({ ...signIn, action: `audit.${'x'.repeat(40)}` }));
    expect(toSyslog(longAction, options).split(' ')[5]).toBe('-');
  });

  it('refuses a line with line breaks or without a CEF header', () => {
    expect(() => toSyslog(`${line}\nCEF:0|forged`, options)).toThrow(/line breaks/);
    expect(() => toSyslog('hello world', options)).toThrow(/not a CEF line/);
    expect(() => toSyslog('CEF:0|V|P|1|sig|name', options)).toThrow(/fewer than seven/);
    expect(() => toSyslog('CEF:0|V|P|1|sig|name|11|a=b', options)).toThrow(/severity/);
  });
});
