import { existsSync } from 'node:fs';
import { baseConfigSchema } from '@traceo/service-kit';
import { z } from 'zod';

export const encryptionConfigSchema = baseConfigSchema.extend({
  /** PKCS#11 library: SoftHSM2's libsofthsm2.so in development, AWS CloudHSM's libcloudhsm_pkcs11.so in production. */
  TRACEO_PKCS11_MODULE: z.string({ error: 'is required' }).min(1).refine(existsSync, 'must be the path of an existing PKCS#11 library'),
  TRACEO_PKCS11_TOKEN_LABEL: z.string({ error: 'is required' }).min(1).max(32),
  /** Secret: never logged. SoftHSM2: the user PIN; CloudHSM: `<crypto-user>:<password>`. */
  TRACEO_PKCS11_PIN: z.string({ error: 'is required' }).min(1),
});

export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;
