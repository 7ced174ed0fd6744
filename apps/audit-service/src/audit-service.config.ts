import { createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { baseConfigSchema } from '@traceo/service-kit';
import { z } from 'zod';
import { parseSyslogUrl } from './siem-export/syslog-sender';

function isEd25519Pkcs8(value: string): boolean {
  try {
    return createPrivateKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'pkcs8' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

export const auditConfigSchema = baseConfigSchema
  .extend({
    /**
     * Where the checkpoint-signing Ed25519 key lives. `hsm` (default): a non-extractable key pair in the
     * PKCS#11 token (TRACEO_PKCS11_*), generated there on first start. `key-store`: a PKCS#8 key handed
     * in by the deployment's secret store (TRACEO_AUDIT_SIGNING_KEY), for HSMs without EdDSA (AWS CloudHSM).
     */
    TRACEO_AUDIT_SIGNING_KEY_SOURCE: z.enum(['hsm', 'key-store']).default('hsm'),
    /** key-store only: Ed25519 private key (PKCS#8 DER, base64) that signs checkpoints. Secret: never logged. */
    TRACEO_AUDIT_SIGNING_KEY: z.string().refine(isEd25519Pkcs8, 'must be a base64 PKCS#8 Ed25519 private key').optional(),
    /** hsm only: the PKCS#11 library, token and user PIN (secret), as for encryption-service. */
    TRACEO_PKCS11_MODULE: z.string().min(1).refine(existsSync, 'must be the path of an existing PKCS#11 library').optional(),
    TRACEO_PKCS11_TOKEN_LABEL: z.string().min(1).max(32).optional(),
    TRACEO_PKCS11_PIN: z.string().min(1).optional(),
    /** hsm only: label of the signing key pair in the token. */
    TRACEO_AUDIT_SIGNING_KEY_LABEL: z.string().min(1).max(64).default('traceo-audit-checkpoint-v1'),
    /**
     * Secret (base64, at least 32 bytes) that authenticates forensic-search cursors. Give every replica the
     * same value; when unset, each process draws a random one and cursors only work on the replica that issued them.
     */
    TRACEO_AUDIT_CURSOR_KEY: z
      .string()
      .refine((value) => Buffer.from(value, 'base64').length >= 32, 'must be at least 32 bytes, base64')
      .optional(),
    TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1000),
    /** Also checkpoint as soon as this many records were appended since the last checkpoint. */
    TRACEO_AUDIT_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
    TRACEO_AUDIT_RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(3_600_000),
    /** encryption-service, which seals personal fields under data-subject keys (e.g. http://encryption-service:8080). */
    TRACEO_ENCRYPTION_URL: z.url({ error: 'is required: the encryption-service base URL' }),
    /** The credential audit-service calls encryption-service with. Secret: never logged. */
    TRACEO_ENCRYPTION_API_KEY: z.string({ error: 'is required' }).min(16),
    /** The platform's subject keyring in encryption-service (one key per data subject; shredding erases the person). */
    TRACEO_AUDIT_SUBJECT_KEYRING: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/)
      .default('subjects'),
    /**
     * Seal personal data in this process with subject keys leased from encryption-service for this
     * many seconds (0: every seal is a call to encryption-service). Leasing also needs this service's
     * client id in encryption-service's TRACEO_SUBJECT_KEY_LEASE_CLIENTS; without it, sealing falls
     * back to calls. docs/audit.md weighs the trade.
     */
    TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS: z.coerce.number().int().min(0).max(300).default(60),
    /** Data subjects whose leased keys are held at once, at most. */
    TRACEO_AUDIT_SUBJECT_KEY_LEASES_MAX: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
    /**
     * Continuous SIEM export: a syslog collector (`tcp://host:port`, or `tls://host:port` for RFC 5425)
     * that receives every audit record as CEF in an RFC 5424 message. Off when unset.
     */
    TRACEO_AUDIT_SIEM_SYSLOG_URL: z
      .string()
      .refine((value) => {
        try {
          parseSyslogUrl(value);
          return true;
        } catch {
          return false;
        }
      }, 'must be tcp://host:port or tls://host:port')
      .optional(),
    /** PEM file of the CA(s) that sign the collector's TLS certificate; the system's CAs when unset. */
    TRACEO_AUDIT_SIEM_SYSLOG_CA_FILE: z.string().min(1).optional(),
    /** A destination seen for the first time starts at the end of each log (new records only) or at its beginning. */
    TRACEO_AUDIT_SIEM_START: z.enum(['end', 'beginning']).default('end'),
    TRACEO_AUDIT_SIEM_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(1000),
  })
  .superRefine((config, context) => {
    const required =
      config.TRACEO_AUDIT_SIGNING_KEY_SOURCE === 'hsm'
        ? (['TRACEO_PKCS11_MODULE', 'TRACEO_PKCS11_TOKEN_LABEL', 'TRACEO_PKCS11_PIN'] as const)
        : (['TRACEO_AUDIT_SIGNING_KEY'] as const);
    for (const variable of required) {
      if (config[variable] === undefined) {
        context.addIssue({
          code: 'custom',
          path: [variable],
          message: `is required when TRACEO_AUDIT_SIGNING_KEY_SOURCE=${config.TRACEO_AUDIT_SIGNING_KEY_SOURCE}`,
        });
      }
    }
  });

export type AuditConfig = z.infer<typeof auditConfigSchema>;
