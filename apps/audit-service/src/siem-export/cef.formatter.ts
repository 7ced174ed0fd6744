import { isIPv4, isIPv6 } from 'node:net';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import { classify, OCSF_CLASSES, parseHttpRoute, severityOf } from './siem-classification';

/** CEF header constants: `CEF:0|Device Vendor|Device Product|Device Version|…`. */
export const CEF_VENDOR = 'Traceo';
export const CEF_PRODUCT = 'Traceo';
export const CEF_DEVICE_VERSION = '1.0';

/** OCSF severity_id (0–6) → CEF severity (0–10: 0–3 Low, 4–6 Medium, 7–8 High, 9–10 Very-High). */
const CEF_SEVERITY: Readonly<Record<number, number>> = { 0: 0, 1: 1, 2: 3, 3: 5, 4: 8, 5: 10, 6: 10 };

// Control characters other than CR and LF have no CEF escape; they become spaces so a line stays a line.
// eslint-disable-next-line no-control-regex
const OTHER_CONTROLS = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f]/g;

/** A header field: backslash and pipe are escaped; line breaks are not allowed in the header, so they become spaces. */
export function escapeCefHeader(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(OTHER_CONTROLS, ' ');
}

/** An extension value: backslash and equals sign are escaped, CR and LF become the two-character sequences \r and \n. */
export function escapeCefExtension(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(OTHER_CONTROLS, ' ');
}

const ACRONYMS = new Set(['api', 'mfa', 'siem', 'sso', 'dsr', 'oidc', 'http']);

/** `user.signed-in` → `User signed in`; `api.request` → `API request`. */
export function cefName(action: string): string {
  const words = action.split(/[.-]/).map((word) => (ACRONYMS.has(word) ? word.toUpperCase() : word));
  const sentence = words.join(' ');
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

type Extension = readonly [key: string, value: string | number | undefined];

/**
 * One ArcSight CEF:0 line for one audit log entry (no trailing newline):
 * `CEF:0|Traceo|Traceo|1.0|<action>|<name>|<severity>|<extensions>`. Pure. The keys are those of
 * the ArcSight extension dictionary; the mapping is in docs/siem-mapping.md.
 */
export function toCef(entry: LogEntry): string {
  const r = entry.record;
  const classification = classify(r);
  const severity = CEF_SEVERITY[severityOf(r, classification)] ?? 0;
  const route = r.action === 'api.request' && r.resource.type === 'http-route' ? parseHttpRoute(r.resource.id) : undefined;
  const targetUser = r.subjectId ?? (r.resource.type === 'user' ? r.resource.id : undefined);
  const extensions: Extension[] = [
    ['rt', Date.parse(r.occurredAt)],
    ['cat', OCSF_CLASSES[classification.classKey].class_name],
    ['act', r.action],
    ['outcome', r.status],
    ['reason', r.status === 'success' ? undefined : r.resultCode],
    ['suid', r.actor.id],
    ['suser', r.actor.type === 'user' ? r.actor.id : undefined],
    ['duid', targetUser],
    ['src', r.ip !== undefined && isIPv4(r.ip) ? r.ip : undefined],
    ['c6a2', r.ip !== undefined && isIPv6(r.ip) ? r.ip : undefined],
    ['c6a2Label', r.ip !== undefined && isIPv6(r.ip) ? 'Source IPv6 Address' : undefined],
    ['requestClientApplication', r.userAgent],
    ['requestMethod', route?.method],
    ['request', route?.path],
    ['externalId', entry.eventId],
    ['cs1', entry.tenant],
    ['cs1Label', 'tenant'],
    ['cs2', entry.source],
    ['cs2Label', 'source'],
    ['cs3', r.requestId],
    ['cs3Label', r.requestId !== undefined ? 'requestId' : undefined],
    ['cs4', r.sessionId],
    ['cs4Label', r.sessionId !== undefined ? 'sessionId' : undefined],
    ['cs5', r.resource.id !== undefined ? `${r.resource.type}:${r.resource.id}` : r.resource.type],
    ['cs5Label', 'resource'],
    ['cs6', r.actor.type],
    ['cs6Label', 'actorType'],
    // CEF custom numbers are integers; risk scores may carry decimals.
    ['cn1', r.riskScore !== undefined ? Math.round(r.riskScore) : undefined],
    ['cn1Label', r.riskScore !== undefined ? 'riskScore' : undefined],
    ['cn2', entry.index],
    ['cn2Label', 'leafIndex'],
    ['deviceCustomDate1', Date.parse(entry.receivedAt)],
    ['deviceCustomDate1Label', 'receivedAt'],
    ['msg', `${r.action} by ${r.actor.type} ${r.actor.id}: ${r.status}${r.resultCode ? ` (${r.resultCode})` : ''}`],
  ];
  const header = ['CEF:0', CEF_VENDOR, CEF_PRODUCT, CEF_DEVICE_VERSION, r.action, cefName(r.action), String(severity)]
    .map((field, i) => (i === 0 ? field : escapeCefHeader(field)))
    .join('|');
  const extension = extensions
    .filter((pair): pair is readonly [string, string | number] => pair[1] !== undefined && pair[1] !== '')
    .map(([key, value]) => `${key}=${escapeCefExtension(String(value))}`)
    .join(' ');
  return `${header}|${extension}`;
}

/** Splits a CEF line's seven header fields (honouring `\|` and `\\`); the rest is the extension. */
export function parseCefHeader(line: string): { fields: string[]; extension: string } {
  if (!line.startsWith('CEF:')) throw new Error('not a CEF line: it does not start with CEF:');
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (fields.length === 7) return { fields, extension: line.slice(i) };
    if (char === '\\' && i + 1 < line.length) {
      current += line[++i];
    } else if (char === '|') {
      fields.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (fields.length === 7) return { fields, extension: '' };
  throw new Error('not a CEF line: it has fewer than seven header fields');
}

export const SYSLOG_FACILITIES = { authpriv: 10, local4: 20 } as const;
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

export interface SyslogOptions {
  readonly hostname: string;
  readonly timestamp: Date | string;
  /** authpriv (10, security/authorization) by default; local4 (20) for collectors that route by local facility. */
  readonly facility?: SyslogFacility;
  readonly appName?: string;
  readonly procId?: string;
}

/** CEF severity (0–10) → syslog severity: 9–10 Critical (2), 7–8 Error (3), 4–6 Warning (4), 2–3 Notice (5), 0–1 Informational (6). */
export function syslogSeverity(cefSeverity: number): number {
  if (cefSeverity >= 9) return 2;
  if (cefSeverity >= 7) return 3;
  if (cefSeverity >= 4) return 4;
  if (cefSeverity >= 2) return 5;
  return 6;
}

const CEF_SEVERITY_WORDS: Readonly<Record<string, number>> = { unknown: 0, low: 3, medium: 5, high: 8, 'very-high': 10 };

/** An RFC 5424 header field: printable US-ASCII only, at most `max` characters, "-" (NILVALUE) when empty. */
function headerField(value: string | undefined, max: number): string {
  const printable = (value ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return printable === '' ? '-' : printable;
}

const BOM = '\uFEFF';

/**
 * A log entry as ArcSight CEF in an RFC 5424 message, stamped with the record's time and sent from
 * `hostname` (what `format=cef-syslog` exports and the SIEM forwarder sends).
 */
export function toCefSyslog(entry: LogEntry, hostname: string): string {
  return toSyslog(toCef(entry), { hostname, timestamp: entry.occurredAt });
}

/**
 * Wraps one CEF line in an RFC 5424 syslog message:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`, PRI = facility × 8 + severity (from the
 * CEF severity), MSGID = the CEF signature id (the Traceo action), no structured data. A MSG with
 * non-ASCII characters is UTF-8 and starts with a BOM, as RFC 5424 §6.4 requires. Framing for TCP/TLS
 * (RFC 6587 / RFC 5425 octet counting) is the transport's job.
 */
export function toSyslog(cefLine: string, options: SyslogOptions): string {
  if (/[\r\n]/.test(cefLine)) throw new Error('a CEF line for syslog must not contain line breaks');
  const { fields } = parseCefHeader(cefLine);
  const severityField = fields[6]!.trim();
  const cefSeverity = /^\d+$/.test(severityField) ? Number(severityField) : CEF_SEVERITY_WORDS[severityField.toLowerCase()];
  if (cefSeverity === undefined || cefSeverity > 10) throw new Error(`not a CEF severity: ${severityField}`);
  const pri = SYSLOG_FACILITIES[options.facility ?? 'authpriv'] * 8 + syslogSeverity(cefSeverity);
  const timestamp = (typeof options.timestamp === 'string' ? new Date(options.timestamp) : options.timestamp).toISOString();
  const msgId = /^[\x21-\x7e]{1,32}$/.test(fields[4]!) ? fields[4]! : '-';
  const msg = /[\u0080-\uffff]/.test(cefLine) ? BOM + cefLine : cefLine;
  return [
    `<${pri}>1`,
    timestamp,
    headerField(options.hostname, 255),
    headerField(options.appName ?? 'traceo-audit', 48),
    headerField(options.procId, 128),
    msgId,
    '-',
    msg,
  ].join(' ');
}
