import { existsSync } from 'node:fs';
import { baseConfigSchema } from '@traceo/service-kit';
import { z } from 'zod';

export const encryptionConfigSchema = baseConfigSchema
  .extend({
    /** PKCS#11 library: SoftHSM2's libsofthsm2.so in development, AWS CloudHSM's libcloudhsm_pkcs11.so in production. */
    TRACEO_PKCS11_MODULE: z.string({ error: 'is required' }).min(1).refine(existsSync, 'must be the path of an existing PKCS#11 library'),
    TRACEO_PKCS11_TOKEN_LABEL: z.string({ error: 'is required' }).min(1).max(32),
    /** Secret: never logged. SoftHSM2: the user PIN; CloudHSM: `<crypto-user>:<password>`. */
    TRACEO_PKCS11_PIN: z.string({ error: 'is required' }).min(1),
    /** Who picks the AES-GCM IV for key wrapping: `application` (SoftHSM2) or `hsm` (AWS CloudHSM, which requires it). */
    TRACEO_PKCS11_GCM_IV_SOURCE: z.enum(['application', 'hsm']).default('application'),
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
  })
  .superRefine((config, context) => {
    if (config.TRACEO_HSM_CONTROL_PLANE !== 'aws-cloudhsm') return;
    for (const variable of ['TRACEO_CLOUDHSM_CLUSTER_ID', 'AWS_REGION'] as const) {
      if (config[variable]) continue;
      context.addIssue({ code: 'custom', path: [variable], message: 'is required when TRACEO_HSM_CONTROL_PLANE=aws-cloudhsm' });
    }
  });

export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;
