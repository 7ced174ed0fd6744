import { existsSync } from 'node:fs';
import { z } from 'zod';

/** The configuration of a service that holds a key-encryption key in an HSM: spread into its config schema. */
export const pkcs11ConfigShape = {
  /** PKCS#11 library: SoftHSM2's libsofthsm2.so in development, AWS CloudHSM's libcloudhsm_pkcs11.so in production. */
  TRACEO_PKCS11_MODULE: z.string({ error: 'is required' }).min(1).refine(existsSync, 'must be the path of an existing PKCS#11 library'),
  TRACEO_PKCS11_TOKEN_LABEL: z.string({ error: 'is required' }).min(1).max(32),
  /** Secret: never logged. SoftHSM2: the user PIN; CloudHSM: `<crypto-user>:<password>`. */
  TRACEO_PKCS11_PIN: z.string({ error: 'is required' }).min(1),
  /** Who picks the AES-GCM IV for key wrapping: `application` (SoftHSM2) or `hsm` (AWS CloudHSM, which requires it). */
  TRACEO_PKCS11_GCM_IV_SOURCE: z.enum(['application', 'hsm']).default('application'),
};

export type Pkcs11Config = z.infer<z.ZodObject<typeof pkcs11ConfigShape>>;
