import { pkcs11ConfigShape } from '@traceo/hsm';
import { baseConfigSchema } from '@traceo/service-kit';
import { z } from 'zod';

export const encryptionConfigSchema = baseConfigSchema
  .extend({
    ...pkcs11ConfigShape,
    /** Where `GET /v1/encryption/hsm` reads cluster facts: the local SoftHSM2 token (development) or the AWS CloudHSM API. */
    TRACEO_HSM_CONTROL_PLANE: z.enum(['local-softhsm', 'aws-cloudhsm']).default('local-softhsm'),
    /** With aws-cloudhsm: the cluster whose state, HSMs and backups are reported. */
    TRACEO_CLOUDHSM_CLUSTER_ID: z
      .string()
      .regex(/^cluster-[a-z0-9]+$/, 'must be a CloudHSM cluster id (cluster-…)')
      .optional(),
    /** With aws-cloudhsm: the cluster's region, passed to the AWS SDK (credentials come from its default provider chain). */
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region such as eu-west-1')
      .optional(),
    /**
     * The callers (API client ids or token subjects, comma-separated) that may lease subject keys:
     * take a data subject's unwrapped key to seal with in their own process (audit-service). Empty by
     * default: nobody may, and every seal goes through this service. docs/encryption.md explains the trade.
     */
    TRACEO_SUBJECT_KEY_LEASE_CLIENTS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id.length > 0),
      ),
    /** The longest subject-key lease, in seconds: how long a leased key may be used after a shred whose event is lost. */
    TRACEO_SUBJECT_KEY_LEASE_SECONDS: z.coerce.number().int().min(1).max(300).default(60),
  })
  .superRefine((config, context) => {
    if (config.TRACEO_HSM_CONTROL_PLANE !== 'aws-cloudhsm') return;
    for (const variable of ['TRACEO_CLOUDHSM_CLUSTER_ID', 'AWS_REGION'] as const) {
      if (config[variable]) continue;
      context.addIssue({ code: 'custom', path: [variable], message: 'is required when TRACEO_HSM_CONTROL_PLANE=aws-cloudhsm' });
    }
  });

export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;
